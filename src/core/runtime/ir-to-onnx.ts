import { CoreError } from '../errors';
import { encodeOnnxModel, type OnnxModel, type OnnxNode, type OnnxTensorProto, type OnnxValueInfo } from '../formats/onnx/onnx-codec';
import { onnxTypeOfDtype } from '../formats/onnx/onnx-dtypes';
import type { ArchitectureGraph, AttributeValue, ConstantTensor, ValueInfo } from '../graph/ir';
import { encodeBfloat16, encodeFloat16 } from '../tensor/half';
import { dtypeSize, numElements, type Dtype } from '../tensor/dtypes';
import { hostTensorFromBytes, toFloat32Array, type TensorBytes } from './host-tensor';
import { bindWeight, usedInitializers, type WeightLookup } from './weights';

/** AttributeProto.AttributeType numbers. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/**
 * Attributes that ONNX declares as float (or floats) although the IR may hold an integral number
 * (e.g. Gemm's alpha = 1): the IR keeps plain numbers, so the type comes from the schema.
 */
const FLOAT_ATTRIBUTES = new Set([
  'alpha',
  'beta',
  'gamma',
  'bias',
  'epsilon',
  'momentum',
  'lambd',
  'ratio',
  'min',
  'max',
  'value_float',
  'value_floats',
  'spatial_scale',
  'scales',
  'threshold',
  'cubic_coeff_a',
  'extrapolation_value',
  'activation_alpha',
  'activation_beta',
]);

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Little-endian bytes of a constant's values (int64 clamped: the zoo stores INT64_MAX as 2^63). */
export function encodeConstantValues(dtype: Dtype, values: readonly number[]): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'F32':
      return bytesOf(Float32Array.from(values));
    case 'F64':
      return bytesOf(Float64Array.from(values));
    case 'F16':
      return encodeFloat16(values);
    case 'BF16':
      return encodeBfloat16(values);
    case 'I64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = BigInt(Math.trunc(values[i]));
        out[i] = v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : v;
      }
      return bytesOf(out);
    }
    case 'I32':
      return bytesOf(Int32Array.from(values));
    case 'I16':
      return bytesOf(Int16Array.from(values));
    case 'I8':
      return bytesOf(Int8Array.from(values));
    case 'U8':
      return Uint8Array.from(values);
    case 'BOOL':
      return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
  }
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function tensorProto(name: string, dtype: Dtype, shape: readonly number[], rawData: Uint8Array): OnnxTensorProto {
  return { name, dataType: onnxTypeOfDtype(dtype), dims: [...shape], rawData };
}

function isConstantTensor(v: AttributeValue): v is ConstantTensor {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type OnnxAttribute = NonNullable<OnnxNode['attribute']>[number];

function attributeProto(name: string, value: AttributeValue): OnnxAttribute {
  const utf8 = new TextEncoder();
  if (typeof value === 'number') {
    return FLOAT_ATTRIBUTES.has(name) || !Number.isInteger(value) ? { name, type: ATTR.FLOAT, f: value } : { name, type: ATTR.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: ATTR.STRING, s: utf8.encode(value) };
  if (isConstantTensor(value)) {
    if (numElements(value.shape) !== value.values.length) {
      throw new CoreError('GRAPH_INVALID', `constant attribute '${name}' holds ${value.values.length} values for shape [${value.shape.join(', ')}]`);
    }
    return { name, type: ATTR.TENSOR, t: tensorProto('', value.dtype, value.shape, encodeConstantValues(value.dtype, value.values)) };
  }
  if (value.length > 0 && typeof value[0] === 'string') return { name, type: ATTR.STRINGS, strings: (value as string[]).map((s) => utf8.encode(s)) };
  const numbers = value as number[];
  return FLOAT_ATTRIBUTES.has(name) || numbers.some((v) => !Number.isInteger(v))
    ? { name, type: ATTR.FLOATS, floats: numbers }
    : { name, type: ATTR.INTS, ints: numbers };
}

function valueInfoProto(v: ValueInfo): OnnxValueInfo {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: onnxTypeOfDtype(v.dtype), shape: { dim } } } };
}

/** The bytes to embed for an initializer, converted to the graph's dtype when the checkpoint's float width differs. */
function initializerBytes(dtype: Dtype, bound: TensorBytes): Uint8Array {
  if (bound.dtype === dtype) return bound.data;
  if (dtype === 'F32') return bytesOf(toFloat32Array(hostTensorFromBytes(bound.dtype, bound.shape, bound.data)));
  throw new CoreError('INVALID_ARGUMENT', `cannot convert a ${bound.dtype} weight to the graph's ${dtype}`);
}

/**
 * An ONNX ModelProto (opset = the graph's, IR version 8) for the graph with its weights embedded
 * as raw_data initializers. Initializers that no node reads are left out; exporter aliases
 * (`aliasOf`) get the data of the tensor they alias. Node names, attributes and value names are
 * kept, so the model is the graph as the exporter would have written it.
 */
export function graphToOnnxModel(graph: ArchitectureGraph, weights: WeightLookup): OnnxModel {
  const initializer = usedInitializers(graph).map((init) =>
    tensorProto(init.name, init.dtype, init.shape, initializerBytes(init.dtype, bindWeight(init, weights))),
  );
  return modelProto(graph, initializer);
}

function modelProto(graph: ArchitectureGraph, initializer: OnnxTensorProto[]): OnnxModel {
  const node: OnnxNode[] = graph.nodes.map((n) => ({
    name: n.name,
    opType: n.opType,
    domain: '',
    input: [...n.inputs],
    output: [...n.outputs],
    attribute: Object.entries(n.attributes).map(([name, value]) => attributeProto(name, value)),
  }));
  return {
    irVersion: 8,
    producerName: 'weightsmith',
    opsetImport: [{ domain: '', version: graph.opset }],
    graph: {
      name: graph.name,
      node,
      initializer,
      input: graph.inputs.map(valueInfoProto),
      output: graph.outputs.map(valueInfoProto),
    },
  };
}

/** graphToOnnxModel, encoded (protobuf caps a message at 2 GiB: larger models need external data). */
export function encodeGraphAsOnnx(graph: ArchitectureGraph, weights: WeightLookup): Uint8Array {
  return encodeOnnxModel(graphToOnnxModel(graph, weights));
}

/** Bytes of the graph's used initializers in its own dtypes (what an embedded model would hold). */
export function initializerByteLength(graph: ArchitectureGraph): number {
  return usedInitializers(graph).reduce((sum, init) => sum + numElements(init.shape) * dtypeSize(init.dtype), 0);
}

export interface OnnxWithExternalData {
  /** The encoded model; every initializer points into `location`. */
  model: Uint8Array;
  /** The data file's contents, in order (offsets are 64-byte aligned; `padding` zero bytes precede each chunk). */
  chunks: { padding: number; bytes: Uint8Array }[];
}

/**
 * The model with its initializers in one external data file named `location` (ONNX external data:
 * location, offset, length; data_location EXTERNAL), for models past protobuf's 2 GiB limit.
 */
export function graphToOnnxWithExternalData(graph: ArchitectureGraph, weights: WeightLookup, location: string): OnnxWithExternalData {
  const chunks: { padding: number; bytes: Uint8Array }[] = [];
  let offset = 0;
  const initializer = usedInitializers(graph).map((init): OnnxTensorProto => {
    const bytes = initializerBytes(init.dtype, bindWeight(init, weights));
    const padding = (64 - (offset % 64)) % 64;
    offset += padding;
    chunks.push({ padding, bytes });
    const proto: OnnxTensorProto = {
      name: init.name,
      dataType: onnxTypeOfDtype(init.dtype),
      dims: [...init.shape],
      dataLocation: 1, // EXTERNAL
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ],
    };
    offset += bytes.byteLength;
    return proto;
  });
  return { model: encodeOnnxModel(modelProto(graph, initializer)), chunks };
}
