import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../../errors';
import { topologicalOrder } from '../../graph/graph-validate';
import type { ArchitectureGraph, Initializer } from '../../graph/ir';
import { numElements } from '../../tensor/dtypes';
import type { InferenceEngine } from '../engine-types';
import { hostValue, MAX_HOST_ELEMENTS, type HostValue } from '../host-ops';
import { hostTensorFromBytes, toFloat32Array, toInt32Array, type HostTensor, type TensorBytes } from '../host-tensor';
import { checkInputs } from '../inputs';
import { bindWeight, usedInitializers, type WeightLookup } from '../weights';
import { compileNodes } from './compile';
import { evaluateNode, TFJS_SUPPORTED_OPS } from './evaluate';
import { readOutput } from './outputs';
import { RunState } from './run-state';
import { TensorStore } from './tensor-store';
import { isTensorValue, tensorValue, type CompiledNode, type RtValue, type TensorValue } from './values';

export interface TfjsEngineOptions {
  /** Fold BatchNorm into convs and fuse activations (default true). */
  fuse?: boolean;
  /** Input-shape plans kept at once (default 4); each holds its shape-derived constants. */
  maxCachedPlans?: number;
}

interface PlanStep {
  node: CompiledNode;
  /** Values whose last reader is this step. */
  release: string[];
}

/** The executable form for one set of input shapes: shape arithmetic folded away. */
interface Plan {
  steps: PlanStep[];
  /** Host values (folded shape arithmetic) that steps or graph outputs read. */
  hostValues: Map<string, HostValue>;
  /** Graph inputs that no step reads (only their shapes were used). */
  unreadInputs: string[];
  store: TensorStore;
}

/**
 * Executes an ArchitectureGraph on the active TF.js backend. At creation, weights are uploaded,
 * everything computable from constants is evaluated, and convs/BatchNorms/Gemms are prepared
 * (compileNodes). The first run for each input signature traces the graph: shape arithmetic runs
 * on the host and is folded into a plan of backend steps, which later runs replay. Every
 * intermediate tensor is disposed as soon as its last reader has run.
 */
export class TfjsEngine implements InferenceEngine {
  readonly kind = 'tfjs';
  readonly name: string;
  private readonly plans = new Map<string, Plan>();
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    private readonly graph: ArchitectureGraph,
    private readonly statics: Map<string, RtValue>,
    private readonly nodes: CompiledNode[],
    private readonly store: TensorStore,
    private readonly maxPlans: number,
  ) {
    this.name = `tfjs-${activeBackend()}`;
  }

  static create(graph: ArchitectureGraph, weights: WeightLookup, options: TfjsEngineOptions = {}): TfjsEngine {
    const unsupported = [...new Set(graph.nodes.map((n) => n.opType))].filter((op) => !TFJS_SUPPORTED_OPS.has(op));
    if (unsupported.length > 0) {
      throw new CoreError('GRAPH_UNKNOWN_OP', `the TF.js engine does not support ${unsupported.join(', ')}`, { ops: unsupported });
    }
    activeBackend();
    const store = new TensorStore();
    try {
      const statics = new Map<string, RtValue>();
      for (const init of usedInitializers(graph)) statics.set(init.name, uploadInitializer(init, bindWeight(init, weights), store));
      const dynamic: CompiledNode[] = [];
      for (const node of topologicalOrder(graph)) {
        if (!node.inputs.every((i) => i === '' || statics.has(i))) {
          dynamic.push(node);
          continue;
        }
        const outputs = evaluateNode(store, node, node.inputs.map((i) => (i === '' ? undefined : statics.get(i))));
        node.outputs.forEach((name, k) => {
          const v = outputs[k];
          if (isTensorValue(v) && !store.owns(v.tensor)) store.adopt(v.tensor);
          if (name !== '' && v !== undefined) statics.set(name, v);
          else if (isTensorValue(v)) store.release(v.tensor);
        });
      }
      const outputNames = new Set(graph.outputs.map((o) => o.name));
      const compiled = compileNodes(dynamic, statics, outputNames, {
        fuse: options.fuse ?? true,
        opset: graph.opset,
        hostTensor: (v) => store.hostTensor(v),
      });
      compiled.owned.forEach((t) => store.adopt(t));
      dropUnreadStatics(statics, compiled.nodes, outputNames, store);
      return new TfjsEngine(graph, statics, compiled.nodes, store, Math.max(1, options.maxCachedPlans ?? 4));
    } catch (e) {
      store.dispose();
      throw e;
    }
  }

  /** Runs are serialised: a backend executes one at a time anyway, and plans are shared. */
  run(inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const result = this.queue.then(() => this.runNow(inputs));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow(inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    if (this.disposed) throw new CoreError('INVALID_ARGUMENT', 'the engine has been disposed');
    const signature = checkInputs(this.graph, inputs);
    const plan = this.plans.get(signature);
    // A first run traces into a new plan store, kept only if the trace completes.
    const planStore = plan?.store ?? new TensorStore(this.store);
    let committed = plan !== undefined;
    const state = new RunState(
      (name) => this.statics.get(name) ?? plan?.hostValues.get(name),
      (t) => planStore.owns(t),
    );
    try {
      for (const input of this.graph.inputs) state.set(input.name, upload(inputs[input.name], input.dtype));
      if (plan) {
        this.replay(plan, state);
      } else {
        this.remember(signature, this.trace(state, planStore));
        committed = true;
      }
      const result: Record<string, HostTensor> = {};
      for (const output of this.graph.outputs) result[output.name] = await readOutput(state.get(output.name) as RtValue, planStore);
      return result;
    } finally {
      state.releaseAll();
      if (!committed) planStore.dispose();
    }
  }

  private replay(plan: Plan, state: RunState): void {
    for (const name of plan.unreadInputs) state.release(name);
    for (const step of plan.steps) {
      const outputs = evaluateNode(plan.store, step.node, step.node.inputs.map((i) => state.get(i)));
      step.node.outputs.forEach((name, k) => outputs[k] !== undefined && state.set(name, outputs[k]));
      for (const name of step.release) state.release(name);
    }
  }

  /** Runs every node, recording which ones touch the backend; returns the plan for this signature. */
  private trace(state: RunState, store: TensorStore): Plan {
    const lastRead = lastReaders(this.nodes, this.graph);
    const hostSeen = new Map<string, HostValue>();
    const steps: CompiledNode[] = [];
    this.nodes.forEach((node, index) => {
      const outputs = evaluateNode(store, node, node.inputs.map((i) => state.get(i)));
      if (outputs.some(isTensorValue)) steps.push(node);
      node.outputs.forEach((name, k) => {
        const v = outputs[k];
        if (v === undefined) return;
        if (!isTensorValue(v)) hostSeen.set(name, v);
        if (lastRead.has(name)) state.set(name, v);
        else state.dispose(v);
      });
      for (const name of node.inputs) if (lastRead.get(name) === index) state.release(name);
    });
    return buildPlan(steps, hostSeen, this.graph, store);
  }

  private remember(signature: string, plan: Plan): void {
    this.plans.set(signature, plan);
    while (this.plans.size > this.maxPlans) {
      const [oldest, evicted] = this.plans.entries().next().value as [string, Plan];
      evicted.store.dispose();
      this.plans.delete(oldest);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const plan of this.plans.values()) plan.store.dispose();
    this.plans.clear();
    this.statics.clear();
    this.store.dispose();
  }
}

function activeBackend(): string {
  try {
    return tf.getBackend();
  } catch (e) {
    throw new CoreError('INFERENCE_FAILED', `no TF.js backend is available (load one, e.g. @tensorflow/tfjs-backend-wasm, and await tf.setBackend): ${(e as Error).message}`);
  }
}

function uploadInitializer(init: Initializer, bytes: TensorBytes, store: TensorStore): RtValue {
  const host = hostTensorFromBytes(bytes.dtype, bytes.shape, bytes.data);
  const isFloat = ['F32', 'F64', 'F16', 'BF16'].includes(init.dtype);
  // Integer tensors (shapes, indices) and float scalars (e.g. Clip bounds) are read on the host.
  if (numElements(init.shape) <= (isFloat ? 1 : MAX_HOST_ELEMENTS)) {
    const values = isFloat ? Array.from(toFloat32Array(host)) : Array.from(host.data as ArrayLike<number | bigint>, Number);
    return hostValue(init.dtype, init.shape, values);
  }
  return tensorValue(store.adopt(upload(host, init.dtype).tensor), init.dtype);
}

function upload(t: HostTensor, dtype: ArchitectureGraph['inputs'][number]['dtype']): TensorValue {
  if (['F32', 'F64', 'F16', 'BF16'].includes(t.dtype)) return tensorValue(tf.tensor(toFloat32Array(t), t.shape, 'float32'), dtype);
  if (t.dtype === 'BOOL') return tensorValue(tf.tensor(t.data as Uint8Array, t.shape, 'bool'), dtype);
  return tensorValue(tf.tensor(toInt32Array(t), t.shape, 'int32'), dtype);
}

/** For each value, the index of the last node reading it (graph outputs: never released). */
function lastReaders(nodes: readonly CompiledNode[], graph: ArchitectureGraph): Map<string, number> {
  const last = new Map<string, number>();
  nodes.forEach((node, i) => node.inputs.forEach((name) => name !== '' && last.set(name, i)));
  for (const output of graph.outputs) last.set(output.name, Infinity);
  return last;
}

function buildPlan(traced: CompiledNode[], hostSeen: Map<string, HostValue>, graph: ArchitectureGraph, store: TensorStore): Plan {
  // Steps whose outputs only fed shape arithmetic (already folded) are dead in replay.
  const needed = new Set(graph.outputs.map((o) => o.name));
  const kept: CompiledNode[] = [];
  for (let i = traced.length - 1; i >= 0; i--) {
    const node = traced[i];
    if (!node.outputs.some((o) => needed.has(o))) continue;
    kept.unshift(node);
    node.inputs.forEach((name) => name !== '' && needed.add(name));
  }
  const hostValues = new Map<string, HostValue>();
  for (const name of needed) {
    const v = hostSeen.get(name);
    if (v) hostValues.set(name, v);
  }
  const lastRead = lastReaders(kept, graph);
  const steps = kept.map((node, index) => ({
    node,
    release: [...node.inputs.filter((name) => lastRead.get(name) === index), ...node.outputs.filter((o) => o !== '' && !lastRead.has(o))],
  }));
  const unreadInputs = graph.inputs.map((i) => i.name).filter((name) => !lastRead.has(name));
  return { steps, hostValues, unreadInputs, store };
}

/** Disposes constant tensors that nothing reads after compilation (e.g. raw OIHW conv weights). */
function dropUnreadStatics(statics: Map<string, RtValue>, nodes: CompiledNode[], outputs: ReadonlySet<string>, store: TensorStore): void {
  const read = new Set<string>(outputs);
  for (const node of nodes) node.inputs.forEach((i) => read.add(i));
  const kept = new Set<tf.Tensor>();
  for (const [name, v] of statics) if (read.has(name) && isTensorValue(v)) kept.add(v.tensor);
  for (const [name, v] of [...statics]) {
    if (read.has(name)) continue;
    statics.delete(name);
    if (isTensorValue(v) && !kept.has(v.tensor)) store.release(v.tensor);
  }
}
