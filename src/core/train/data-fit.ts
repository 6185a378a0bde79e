import { CoreError } from '../errors';
import type { ArchitectureGraph } from '../graph/ir';
import { inferShapes } from '../graph/shape-inference';

function mismatch(message: string, details: Record<string, unknown>): CoreError {
  return new CoreError('TRAINING_DATA_MISMATCH', message, details);
}

/**
 * Checks, before any training and from the dataset's record alone, that a dataset of images `shape` ([N, C, H, W]) with `classCount`
 * classes fits a classifier graph: one 4-D input whose static dims agree with C, H and W, shapes
 * that propagate through the graph at that size, and one [batch, K] output with K ≥ classCount
 * (labels index the logits). Throws TRAINING_DATA_MISMATCH saying what does not fit.
 */
export function checkDatasetFits(graph: ArchitectureGraph, shape: readonly number[], classCount: number): void {
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
    throw mismatch(`training needs a model with one input and one output; this one has ${graph.inputs.length} and ${graph.outputs.length}`, {});
  }
  const [, c, h, w] = shape;
  const input = graph.inputs[0];
  if (input.shape.length !== 4) {
    throw mismatch(`the model's input '${input.name}' has rank ${input.shape.length}; the dataset's images are [C, H, W] = [${c}, ${h}, ${w}]`, { input: input.name });
  }
  const wanted = [2, c, h, w];
  input.shape.forEach((d, i) => {
    if (i > 0 && typeof d === 'number' && d !== wanted[i]) {
      throw mismatch(`the model takes inputs of shape [${input.shape.join(', ')}]; the dataset's images are [${c}, ${h}, ${w}]`, { input: input.name, expected: input.shape, actual: [c, h, w] });
    }
  });
  let logits: number[] | undefined;
  try {
    logits = inferShapes(graph, { inputShapes: { [input.name]: wanted } }).values.get(graph.outputs[0].name)?.shape;
  } catch (e) {
    throw mismatch(`the model cannot take ${h}×${w} images with ${c} channel(s): ${(e as Error).message}`, { actual: [c, h, w] });
  }
  if (!logits || logits.length !== 2 || logits[0] !== 2) {
    throw mismatch(`the model's output at ${h}×${w} is [${logits?.join(', ') ?? 'unknown'}], not [batch, classes] logits`, { output: graph.outputs[0].name });
  }
  if (logits[1] < classCount) {
    throw mismatch(`the model has ${logits[1]} outputs but the dataset has ${classCount} classes`, { outputs: logits[1], classCount });
  }
}
