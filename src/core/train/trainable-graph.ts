import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import { tidy } from '../runtime/tfjs/values';
import type { ArchitectureGraph } from '../graph/ir';
import { crossEntropy, crossEntropyGrad } from './loss';
import type { Forward, TrainOpContext } from './train-op-types';
import { TRAIN_OPS } from './train-ops';

/** A state_dict: parameters and float buffers as float32 arrays with shapes, counters as numbers. */
export interface StateTensor {
  shape: number[];
  data: Float32Array;
}

export interface TrainStepResult {
  loss: number;
  logits: Float32Array;
  /** d loss / d parameter, by state_dict name. */
  grads: Map<string, Float32Array>;
}

/** Ops a graph uses that the training executor cannot run (empty when it trains). */
export function untrainableOps(graph: ArchitectureGraph): string[] {
  return [...new Set(graph.nodes.map((n) => n.opType).filter((op) => TRAIN_OPS[op] === undefined))];
}

/**
 * A canonical graph with its state, executed on tfjs-core ops, with a backward pass
 * built from each op's own gradient (TRAIN_OPS): no TF.js autodiff (tfjs-core's CommonJS build
 * registers no gradients) and no backprop kernels, so every backend that runs it trains. Buffers
 * (BatchNorm running statistics) are updated by training-mode forwards as PyTorch does, with `num_batches_tracked` counted per
 * BatchNorm. Call dispose() when done.
 */
export class TrainableGraph {
  private readonly params = new Map<string, tf.Tensor>();
  private readonly buffers = new Map<string, tf.Tensor>();
  private readonly counters = new Map<string, number>();

  constructor(
    private readonly graph: ArchitectureGraph,
    state: ReadonlyMap<string, StateTensor>,
    counters: ReadonlyMap<string, number> = new Map(),
  ) {
    const missingOps = untrainableOps(graph);
    if (missingOps.length > 0) throw new CoreError('GRAPH_UNKNOWN_OP', `training does not support the op(s) ${missingOps.join(', ')}`, { ops: missingOps });
    for (const init of graph.initializers) {
      // BatchNorm counters (an I64 buffer in zoo graphs) are kept as numbers in `counters`.
      if (init.name.endsWith('num_batches_tracked')) continue;
      const t = state.get(init.name) ?? (init.aliasOf ? state.get(init.aliasOf) : undefined);
      if (!t) throw new CoreError('TENSOR_NOT_FOUND', `the state has no tensor '${init.name}'`, { name: init.name });
      const tensor = tf.tensor(t.data, t.shape, 'float32');
      if (init.isParameter) {
        this.params.set(init.name, tensor);
      } else {
        this.buffers.set(init.name, tensor);
      }
    }
    for (const node of graph.nodes) {
      if (node.opType !== 'BatchNormalization') continue;
      const name = counterName(node.inputs[3]);
      this.counters.set(name, counters.get(name) ?? 0);
    }
  }

  parameterNames(): string[] {
    return [...this.params.keys()];
  }

  /** Runs the graph on `input`, recording what a backward pass needs. Call inside tf.tidy. */
  private run(input: tf.Tensor, ctx: TrainOpContext): { values: Map<string, tf.Tensor>; records: Forward[]; output: tf.Tensor } {
    const values = new Map<string, tf.Tensor>([[this.graph.inputs[0].name, input]]);
    const records: Forward[] = [];
    for (const node of this.graph.nodes) {
      const forward = TRAIN_OPS[node.opType].forward(node, node.inputs.map((name) => this.lookup(values, name)), ctx);
      records.push(forward);
      node.outputs.forEach((name, i) => {
        if (name !== '' && forward.outputs[i] !== undefined) values.set(name, forward.outputs[i]);
      });
    }
    const output = values.get(this.graph.outputs[0].name);
    if (!output) throw new CoreError('GRAPH_INVALID', `the graph output '${this.graph.outputs[0].name}' was not computed`);
    return { values, records, output };
  }

  private lookup(values: ReadonlyMap<string, tf.Tensor>, name: string): tf.Tensor | undefined {
    if (name === '') return undefined;
    const v = values.get(name) ?? this.params.get(name) ?? this.buffers.get(name);
    if (v === undefined) throw new CoreError('GRAPH_INVALID', `value '${name}' is used before it is computed`, { value: name });
    return v;
  }

  /** Eval-mode logits (running BatchNorm statistics; no state changes). */
  evaluate(input: tf.Tensor): Float32Array {
    return tf.tidy(() => this.run(input, { training: false, batchNormUpdates: [] }).output.dataSync() as Float32Array);
  }

  /**
   * One training-mode forward and backward on a batch: the mean cross-entropy (with label
   * smoothing), the logits and every parameter's gradient, by reverse-mode accumulation over the
   * graph with each op's own backward. BatchNorm running statistics and counters are updated, as
   * PyTorch's forward does; parameters are not (that is the optimizer's job). `random` gives
   * Dropout its per-node stream (derive it from the run's seed and the step); graphs without
   * Dropout need none.
   */
  trainStep(input: tf.Tensor, labels: tf.Tensor1D, labelSmoothing = 0, random?: TrainOpContext['random']): TrainStepResult {
    const ctx: TrainOpContext = { training: true, batchNormUpdates: [], random };
    const result = tidy((): TrainStepResult => {
      const { values, records, output } = this.run(input, ctx);
      const logits = output as tf.Tensor2D;
      const grads = new Map<string, tf.Tensor>([[this.graph.outputs[0].name, crossEntropyGrad(logits, labels, labelSmoothing)]]);
      for (let i = this.graph.nodes.length - 1; i >= 0; i--) {
        const node = this.graph.nodes[i];
        const op = TRAIN_OPS[node.opType];
        const dys = node.outputs.map((name) => grads.get(name));
        if (!op.backward || dys.every((d) => d === undefined)) continue;
        const dxs = op.backward(node, node.inputs.map((name) => this.lookup(values, name)), records[i], dys);
        node.inputs.forEach((name, k) => {
          const dx = dxs[k];
          if (name === '' || dx === undefined || this.buffers.has(name)) return;
          const prior = grads.get(name);
          grads.set(name, prior === undefined ? dx : tf.add(prior, dx));
        });
      }
      for (const u of ctx.batchNormUpdates) {
        tf.keep(u.newMean);
        tf.keep(u.newVariance);
      };
      return {
        loss: crossEntropy(logits, labels, labelSmoothing).dataSync()[0],
        logits: logits.dataSync() as Float32Array,
        grads: new Map([...this.params].map(([name, v]) => [name, grads.get(name) ? (grads.get(name)!.dataSync() as Float32Array).slice() : new Float32Array(v.size)])),
      };
    });
    this.applyBatchNormUpdates(ctx);
    return result;
  }

  /**
   * A training-mode forward only: BatchNorms normalize with batch statistics and update their
   * running statistics and counters (as trainStep does), nothing else changes. `batchNormMomentum`
   * overrides every BatchNorm's momentum for this batch (BatchNorm recalibration's 1/(k+1)).
   */
  forwardTraining(input: tf.Tensor, opts: { batchNormMomentum?: number } = {}): void {
    const ctx: TrainOpContext = { training: true, batchNormUpdates: [], batchNormMomentum: opts.batchNormMomentum };
    tf.tidy(() => {
      this.run(input, ctx);
      for (const u of ctx.batchNormUpdates) {
        tf.keep(u.newMean);
        tf.keep(u.newVariance);
      }
    });
    this.applyBatchNormUpdates(ctx);
  }

  /** Overwrites parameters (e.g. after an optimizer step). */
  setParameters(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, data] of values) {
      const v = this.params.get(name);
      if (!v) throw new CoreError('TENSOR_NOT_FOUND', `no parameter '${name}'`, { name });
      this.params.set(name, tf.tensor(data, v.shape, 'float32'));
      v.dispose();
    }
  }

  /** Parameters as float32 arrays, by state_dict name. */
  parameters(): Map<string, Float32Array> {
    return new Map([...this.params].map(([name, v]) => [name, (v.dataSync() as Float32Array).slice()]));
  }

  /** The state_dict: parameters and buffers (with shapes), and the BatchNorm counters. */
  stateDict(): { tensors: Map<string, StateTensor>; counters: Map<string, number> } {
    const tensors = new Map<string, StateTensor>();
    for (const [name, t] of [...this.params, ...this.buffers]) tensors.set(name, { shape: [...t.shape], data: (t.dataSync() as Float32Array).slice() });
    return { tensors, counters: new Map(this.counters) };
  }

  dispose(): void {
    for (const t of [...this.params.values(), ...this.buffers.values()]) t.dispose();
    this.params.clear();
    this.buffers.clear();
  }

  private applyBatchNormUpdates(ctx: TrainOpContext): void {
    for (const u of ctx.batchNormUpdates) {
      this.replaceBuffer(u.mean, u.newMean);
      this.replaceBuffer(u.variance, u.newVariance);
      const counter = counterName(u.mean);
      this.counters.set(counter, (this.counters.get(counter) ?? 0) + 1);
    }
  }

  private replaceBuffer(name: string, value: tf.Tensor): void {
    this.buffers.get(name)?.dispose();
    this.buffers.set(name, value);
  }
}

/** `bn1.running_mean` → `bn1.num_batches_tracked`. */
export function counterName(runningMean: string): string {
  return runningMean.replace(/running_mean$/, 'num_batches_tracked');
}
