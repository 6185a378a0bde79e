import type { ArchitectureGraph } from '../../core/graph/ir';
import { usedInitializers } from '../../core/runtime';
import { ServiceError } from '../../core/service-error';
import { untrainableOps } from '../../core/train/trainable-graph';
import type { DatasetRecord } from '../datasets/dataset.types';
import type { BatchNormMode } from './evaluation.types';

/**
 * Checks that a checkpoint's graph can score a dataset: one N×C×H×W input whose fixed dimensions
 * equal the dataset's (422 DATASET_MODEL_MISMATCH, reason `input-shape`), one N×K output whose K,
 * when fixed, equals the class count (reason `class-count`), weights for every initializer the
 * graph uses (422 CHECKPOINT_ARCHITECTURE_MISMATCH), and for `recalibrate` only ops the training
 * executor runs (422 EVALUATION_INVALID).
 */
export function checkModelFitsDataset(
  graph: ArchitectureGraph,
  tensorNames: ReadonlySet<string>,
  dataset: Pick<DatasetRecord, 'id' | 'shape' | 'classCount'>,
  batchNorm: BatchNormMode,
  checkpointId: string,
): void {
  if (graph.inputs.length !== 1 || graph.outputs.length < 1) {
    throw new ServiceError('EVALUATION_INVALID', `checkpoint ${checkpointId}: an evaluated model takes one input (it has ${graph.inputs.length}) and gives logits`, { checkpointId });
  }
  const [, c, h, w] = dataset.shape;
  const input = graph.inputs[0].shape;
  const fits = input.length === 4 && [c, h, w].every((d, i) => typeof input[i + 1] !== 'number' || input[i + 1] === d);
  if (!fits) {
    throw new ServiceError('DATASET_MODEL_MISMATCH', `checkpoint ${checkpointId} takes input [${input.join(', ')}] but dataset ${dataset.id} has images ${c}×${h}×${w}`, {
      reason: 'input-shape',
      checkpointId,
      modelInput: input,
      datasetShape: [c, h, w],
    });
  }
  const output = graph.outputs[0].shape;
  const classes = output[output.length - 1];
  if (output.length !== 2 || (typeof classes === 'number' && classes !== dataset.classCount)) {
    throw new ServiceError('DATASET_MODEL_MISMATCH', `checkpoint ${checkpointId} gives output [${output.join(', ')}] but dataset ${dataset.id} has ${dataset.classCount} classes`, {
      reason: 'class-count',
      checkpointId,
      modelOutput: output,
      classCount: dataset.classCount,
    });
  }
  const missing = usedInitializers(graph).filter((i) => !tensorNames.has(i.name) && !(i.aliasOf && tensorNames.has(i.aliasOf)));
  if (missing.length > 0) {
    throw new ServiceError('CHECKPOINT_ARCHITECTURE_MISMATCH', `checkpoint ${checkpointId} lacks ${missing.length} tensor(s) its architecture uses, e.g. ${missing[0].name}`, {
      checkpointId,
      missing: missing.slice(0, 20).map((i) => i.name),
    });
  }
  if (batchNorm === 'recalibrate') {
    const ops = untrainableOps(graph);
    if (ops.length > 0) throw new ServiceError('EVALUATION_INVALID', `checkpoint ${checkpointId}: BatchNorm recalibration runs training-mode forwards, which do not support ${ops.join(', ')}`, { checkpointId, ops });
  }
}
