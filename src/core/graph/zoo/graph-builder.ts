import { CoreError } from '../../errors';
import type { Dtype } from '../../tensor/dtypes';
import type {
  ArchitectureGraph,
  AttributeValue,
  GraphNode,
  Initializer,
  ValueInfo,
} from '../ir';

/** A tensor dimension; a string is symbolic (the batch). */
export type Dim = number | string;

export const BATCH = 'batch';
export const INPUT = 'input';
export const OUTPUT = 'logits';

/** One nn.Module: its own parameters/buffers, then its children, as `state_dict()` orders them. */
interface ModuleRecord {
  path: string;
  own: Initializer[];
  children: Map<string, ModuleRecord>;
}

interface Scope {
  record: ModuleRecord;
  /** Exporter scope segment, e.g. `layer1.0` or `relu_1`. */
  segment: string;
  /** Exporter scope path, e.g. `/layer1/layer1.0`. */
  path: string;
}

export interface OutputSpec {
  shape: Dim[];
  dtype?: Dtype;
}

/**
 * Records an exporter-style op graph while a model's forward pass is written out in TypeScript.
 * Module scopes give node names (`/layer1/layer1.0/conv1/Conv`, repeated calls `relu_1`) and
 * state_dict prefixes; parameters are ordered like `state_dict()` (own entries, then children in
 * first-use order), which equals registration order for the torchvision models.
 */
export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly values = new Map<string, ValueInfo>();
  private readonly root: ModuleRecord = { path: '', own: [], children: new Map() };
  private readonly stack: Scope[] = [{ record: this.root, segment: '', path: '' }];
  private readonly counters = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly modelClass: string,
    inputShape: Dim[],
  ) {
    this.values.set(INPUT, { name: INPUT, dtype: 'F32', shape: [...inputShape] });
  }

  get input(): string {
    return INPUT;
  }

  private get scope(): Scope {
    return this.stack[this.stack.length - 1];
  }

  /** Runs `body` inside child module `name` (a number is a Sequential/ModuleList index). */
  module<T>(name: string | number, body: () => T): T {
    const parent = this.scope;
    const key = String(name);
    let record = parent.record.children.get(key);
    if (!record) {
      const path = parent.record.path ? `${parent.record.path}.${key}` : key;
      record = { path, own: [], children: new Map() };
      parent.record.children.set(key, record);
    }
    const base = typeof name === 'number' ? `${parent.segment}.${name}` : name;
    const calls = this.bump(`${parent.path}/${base}#scope`);
    const segment = calls === 0 ? base : `${base}_${calls}`;
    this.stack.push({ record, segment, path: `${parent.path}/${segment}` });
    try {
      return body();
    } finally {
      this.stack.pop();
    }
  }

  /** Registers a trainable parameter of the current module and returns its value name. */
  param(name: string, shape: number[]): string {
    return this.register(name, shape, 'F32', true);
  }

  /** Registers a buffer (running statistics, counters) of the current module. */
  buffer(name: string, shape: number[], dtype: Dtype = 'F32'): string {
    return this.register(name, shape, dtype, false);
  }

  private register(name: string, shape: number[], dtype: Dtype, isParameter: boolean): string {
    const record = this.scope.record;
    const full = record.path ? `${record.path}.${name}` : name;
    if (this.values.has(full)) throw new Error(`zoo: initializer ${full} registered twice`);
    record.own.push({ name: full, dtype, shape: [...shape], isParameter });
    this.values.set(full, { name: full, dtype, shape: [...shape] });
    return full;
  }

  shape(value: string): Dim[] {
    return this.info(value).shape;
  }

  /** A dimension that must be static (channels, spatial sizes). */
  dim(value: string, axis: number): number {
    const shape = this.shape(value);
    const d = shape[axis < 0 ? shape.length + axis : axis];
    if (typeof d !== 'number') throw new Error(`zoo: dim ${axis} of ${value} is not static`);
    return d;
  }

  dtype(value: string): Dtype {
    return this.info(value).dtype;
  }

  private info(value: string): ValueInfo {
    const info = this.values.get(value);
    if (!info) throw new Error(`zoo: unknown value ${value}`);
    return info;
  }

  /** Appends a node in the current scope; returns its output value names. */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue>,
    outputs: OutputSpec[],
  ): string[] {
    for (const i of inputs) if (i !== '') this.info(i);
    const base = `${this.scope.path}/${opType}`;
    const n = this.bump(base);
    const name = n === 0 ? base : `${base}_${n}`;
    const names = outputs.map((o, i) => {
      const valueName = `${name}_output_${i}`;
      this.values.set(valueName, { name: valueName, dtype: o.dtype ?? 'F32', shape: [...o.shape] });
      return valueName;
    });
    this.nodes.push({ name, opType, inputs: [...inputs], outputs: names, attributes });
    return names;
  }

  /** Single-output node. */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue>,
    shape: Dim[],
    dtype: Dtype = 'F32',
  ): string {
    return this.node(opType, inputs, attributes, [{ shape, dtype }])[0];
  }

  /** A Constant node holding a small tensor (shape `[]` for a scalar). */
  constant(values: number[], shape: number[], dtype: Dtype): string {
    return this.op('Constant', [], { value: { dtype, shape: [...shape], values: [...values] } }, shape, dtype);
  }

  private bump(key: string): number {
    const n = this.counters.get(key) ?? 0;
    this.counters.set(key, n + 1);
    return n;
  }

  /** Finishes the graph: `output` becomes the graph output `logits`. */
  build(output: string): ArchitectureGraph {
    const info = this.info(output);
    const producer = this.nodes.find((n) => n.outputs.includes(output));
    if (!producer) throw new Error(`zoo: output ${output} has no producer`);
    producer.outputs = producer.outputs.map((o) => (o === output ? OUTPUT : o));
    for (const node of this.nodes) node.inputs = node.inputs.map((i) => (i === output ? OUTPUT : i));
    this.values.delete(output);
    const initializers = flattenRecords(this.root);
    const skip = new Set<string>([INPUT, ...initializers.map((i) => i.name)]);
    const valueInfo = [...this.values.values()].filter((v) => !skip.has(v.name));
    return {
      name: this.name,
      modelClass: this.modelClass,
      opset: 17,
      inputs: [this.info(INPUT)],
      outputs: [{ name: OUTPUT, dtype: info.dtype, shape: [...info.shape] }],
      initializers,
      nodes: this.nodes,
      valueInfo,
    };
  }
}

function flattenRecords(record: ModuleRecord): Initializer[] {
  const out = [...record.own];
  for (const child of record.children.values()) out.push(...flattenRecords(child));
  return out;
}

/** Rejects an option value (image size too small, classes ≤ 0, ...). */
export function invalidArgument(message: string, details?: Record<string, unknown>): CoreError {
  return new CoreError('INVALID_ARGUMENT', message, details);
}
