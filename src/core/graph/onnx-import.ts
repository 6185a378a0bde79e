import { CoreError } from '../errors';
import {
  int64ToNumber,
  readOnnxModel,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensorProto,
  type OnnxValueInfo,
} from '../formats/onnx/onnx-codec';
import { dtypeOfOnnxType } from '../formats/onnx/onnx-dtypes';
import { describeInitializer, embeddedTensorBytes } from '../formats/onnx/onnx-initializers';
import { bfloat16ToFloat32, float16ToFloat32 } from '../tensor/half';
import type { Dtype } from '../tensor/dtypes';
import { detectModelClass } from './ghn/model-class';
import { batchNormStatistics, looksLikeParameter } from './ghn/param-table';
import type { ArchitectureGraph, AttributeValue, ConstantTensor, GraphNode, Initializer, ValueInfo } from './ir';

export interface ImportOnnxOptions {
  /** Model name; defaults to the ONNX graph name. */
  name?: string;
  /** Trainable parameter names, when known; otherwise float initializers except BatchNorm statistics and `::` constants. */
  trainableNames?: readonly string[];
  /** Python class, when known; otherwise recognised from torchvision parameter names. */
  modelClass?: string;
}

/** AttributeProto.AttributeType numbers. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

const utf8 = new TextDecoder('utf-8');

/**
 * ONNX (as exported by `torch.onnx.export` without constant folding) → the canonical architecture
 * graph. Reads names, dims, dtypes and attributes only; initializer data may be absent (external
 * data not shipped). `Identity(initializer)` nodes, the exporter's de-duplication of equal tensors,
 * become initializers of their own under the dropped state_dict name (with `aliasOf`).
 */
export function importOnnxGraph(source: Uint8Array | OnnxModel, options: ImportOnnxOptions = {}): ArchitectureGraph {
  const model = source instanceof Uint8Array ? readOnnxModel(source) : source;
  const g = model.graph;
  if (!g) throw new CoreError('ONNX_INVALID', 'not an ONNX model: it has no graph');

  const opset = (model.opsetImport ?? [])
    .filter((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx')
    .map((o) => int64ToNumber(o.version, 'opset version'))[0];
  if (opset === undefined) throw new CoreError('ONNX_INVALID', 'the model imports no default-domain opset');

  const tensors = (g.initializer ?? []).map((t) => describeInitializer(t));
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const outputNames = new Set((g.output ?? []).map((o) => o.name ?? ''));

  const rawNodes = (g.node ?? []).map((n, i) => toGraphNode(n, i));
  const aliasOf = new Map<string, string>();
  const nodes: GraphNode[] = [];
  for (const node of rawNodes) {
    const target = node.opType === 'Identity' && node.inputs.length === 1 ? node.inputs[0] : undefined;
    const alias = node.outputs[0];
    const original = target === undefined ? undefined : byName.has(target) ? target : aliasOf.get(target);
    if (original !== undefined && isStateDictName(alias) && !outputNames.has(alias) && !byName.has(alias)) {
      aliasOf.set(alias, original);
    } else {
      nodes.push(node);
    }
  }

  const trainable = options.trainableNames ? new Set(options.trainableNames) : undefined;
  const bnStatistics = batchNormStatistics(nodes);
  const isParameter = (name: string, dtype: Dtype): boolean =>
    trainable ? trainable.has(name) : looksLikeParameter(name, dtype, bnStatistics);
  const initializers: Initializer[] = tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.dims,
    isParameter: isParameter(t.name, t.dtype),
  }));
  for (const [alias, original] of aliasOf) {
    const t = byName.get(original) as { dtype: Dtype; dims: number[] };
    const isParam = isParameter(alias, t.dtype);
    initializers.push({ name: alias, dtype: t.dtype, shape: [...t.dims], isParameter: isParam, aliasOf: original });
  }

  const inputs = (g.input ?? []).filter((v) => !byName.has(v.name ?? '')).map(toValueInfo);
  return {
    name: options.name ?? (g.name || 'model'),
    modelClass: options.modelClass ?? detectModelClass(initializers.map((i) => i.name)),
    opset,
    inputs,
    outputs: (g.output ?? []).map(toValueInfo),
    initializers,
    nodes,
  };
}

/** Exporter-generated values are `/scope/Op_output_0` or contain `::`; state_dict names do not. */
function isStateDictName(name: string | undefined): name is string {
  return !!name && !name.startsWith('/') && !name.includes('::');
}

function toGraphNode(node: OnnxNode, index: number): GraphNode {
  const opType = node.opType ?? '';
  if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') {
    throw new CoreError('UNSUPPORTED_FORMAT', `node ${node.name || index} uses the custom op domain '${node.domain}'`);
  }
  const attributes: Record<string, AttributeValue> = {};
  for (const a of node.attribute ?? []) attributes[a.name ?? ''] = attributeValue(a, node.name || opType);
  return {
    name: node.name || `${opType}_${index}`,
    opType,
    inputs: [...(node.input ?? [])],
    outputs: [...(node.output ?? [])],
    attributes,
  };
}

type OnnxAttribute = NonNullable<OnnxNode['attribute']>[number];

function attributeValue(a: OnnxAttribute, nodeName: string): AttributeValue {
  const where = `attribute '${a.name}' of node ${nodeName}`;
  switch (a.type) {
    case ATTR.FLOAT:
      return a.f ?? 0;
    case ATTR.INT:
      return int64ToNumber(a.i, where);
    case ATTR.STRING:
      return utf8.decode(a.s ?? new Uint8Array(0));
    case ATTR.TENSOR:
      if (!a.t) throw new CoreError('ONNX_INVALID', `${where} has no tensor`);
      return constantTensor(a.t, where);
    case ATTR.FLOATS:
      return [...(a.floats ?? [])];
    case ATTR.INTS:
      return (a.ints ?? []).map((v) => int64ToNumber(v, where));
    case ATTR.STRINGS:
      return (a.strings ?? []).map((s) => utf8.decode(s));
    default:
      throw new CoreError(
        'UNSUPPORTED_FORMAT',
        `${where} has an unsupported type (${a.type}): subgraphs and sparse tensors are not supported`,
      );
  }
}

function constantTensor(t: OnnxTensorProto, where: string): ConstantTensor {
  const info = describeInitializer({ ...t, name: t.name || where });
  if (!info.hasData) throw new CoreError('ONNX_INVALID', `${where} holds no data`);
  const bytes = embeddedTensorBytes(t, info);
  return { dtype: info.dtype, shape: info.dims, values: decodeValues(bytes, info.dtype) };
}

function decodeValues(bytes: Uint8Array, dtype: Dtype): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: number[] = [];
  const read: Record<Dtype, [number, (o: number) => number]> = {
    F64: [8, (o) => view.getFloat64(o, true)],
    F32: [4, (o) => view.getFloat32(o, true)],
    F16: [2, (o) => float16ToFloat32(view.getUint16(o, true))],
    BF16: [2, (o) => bfloat16ToFloat32(view.getUint16(o, true))],
    I64: [8, (o) => Number(view.getBigInt64(o, true))],
    I32: [4, (o) => view.getInt32(o, true)],
    I16: [2, (o) => view.getInt16(o, true)],
    I8: [1, (o) => view.getInt8(o)],
    U8: [1, (o) => view.getUint8(o)],
    BOOL: [1, (o) => (view.getUint8(o) !== 0 ? 1 : 0)],
  };
  const [size, get] = read[dtype];
  for (let o = 0; o + size <= bytes.byteLength; o += size) values.push(get(o));
  return values;
}

function toValueInfo(v: OnnxValueInfo): ValueInfo {
  const tensorType = v.type?.tensorType;
  const dtype = dtypeOfOnnxType(tensorType?.elemType ?? 0);
  if (!tensorType || !dtype) {
    throw new CoreError('UNSUPPORTED_FORMAT', `graph input/output '${v.name}' is not a tensor of a supported dtype`);
  }
  const shape = (tensorType.shape?.dim ?? []).map((d, i): number | string => {
    if (d.dimParam) return d.dimParam;
    // dim_value sits in a oneof: decoded messages only own it when it was written (else unknown).
    const known = Object.prototype.hasOwnProperty.call(d, 'dimValue') && d.dimValue !== null && d.dimValue !== undefined;
    return known ? int64ToNumber(d.dimValue, `dim ${i} of '${v.name}'`) : '?';
  });
  return { name: v.name ?? '', dtype, shape };
}
