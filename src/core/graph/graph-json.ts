import { CoreError } from '../errors';
import { numElements } from '../tensor/dtypes';
import {
  childPath,
  GRAPH_JSON_LIMITS as LIMITS,
  graphJsonError,
  readArray,
  readBoolean,
  readDtype,
  readElement,
  readInteger,
  readObject,
  readStaticShape,
  readString,
  readValueShape,
  writeElement,
} from './graph-json-reader';
import { validateGraph } from './graph-validate';
import type { ArchitectureGraph, AttributeValue, ConstantTensor, GraphNode, Initializer, ValueInfo } from './ir';
import { INT_DTYPES } from './shape-rules-tensor';

export { GRAPH_JSON_LIMITS } from './graph-json-reader';

/** The `format` tag of the canonical graph JSON (GRAPH_FORMAT.md). */
export const GRAPH_JSON_FORMAT = 'weightsmith.graph/v1';

/** The canonical architecture graph as a JSON document (see GRAPH_FORMAT.md). */
export interface GraphJson {
  format: typeof GRAPH_JSON_FORMAT;
  name: string;
  modelClass?: string;
  opset: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Initializer[];
  nodes: { name: string; opType: string; inputs: string[]; outputs: string[]; attributes: Record<string, unknown> }[];
  valueInfo?: ValueInfo[];
}

/** Serialisable copy of a graph; non-finite constant elements become "NaN" / "Infinity" / "-Infinity". */
export function toGraphJson(g: ArchitectureGraph): GraphJson {
  const io = (v: ValueInfo): ValueInfo => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] });
  const json: GraphJson = {
    format: GRAPH_JSON_FORMAT,
    name: g.name,
    ...(g.modelClass !== undefined ? { modelClass: g.modelClass } : {}),
    opset: g.opset,
    inputs: g.inputs.map(io),
    outputs: g.outputs.map(io),
    initializers: g.initializers.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: [...t.shape],
      isParameter: t.isParameter,
      ...(t.aliasOf !== undefined ? { aliasOf: t.aliasOf } : {}),
    })),
    nodes: g.nodes.map((node, i) => ({
      name: node.name,
      opType: node.opType,
      inputs: [...node.inputs],
      outputs: [...node.outputs],
      attributes: Object.fromEntries(
        Object.entries(node.attributes).map(([k, v]) => [k, attributeToJson(v, `$.nodes[${i}].attributes.${k}`)]),
      ),
    })),
  };
  if (g.valueInfo) json.valueInfo = g.valueInfo.map(io);
  return json;
}

function attributeToJson(v: AttributeValue, path: string): unknown {
  if (typeof v === 'object' && !Array.isArray(v)) {
    return { dtype: v.dtype, shape: [...v.shape], values: v.values.map(writeElement) };
  }
  const numbers = typeof v === 'number' ? [v] : Array.isArray(v) ? v.filter((x) => typeof x === 'number') : [];
  if (numbers.some((x) => !Number.isFinite(x))) {
    throw new CoreError('GRAPH_INVALID', `${path}: a non-finite attribute number cannot be written as JSON`, { path });
  }
  return Array.isArray(v) ? [...v] : v;
}

/**
 * Reads an untrusted canonical graph JSON document (parsed, or as JSON text): checks every field's
 * type and the size limits of GRAPH_JSON_LIMITS, then `validateGraph`. Errors are GRAPH_INVALID
 * with a JSON path (`$.nodes[12].inputs[0]: ...`), or validateGraph's codes.
 */
export function parseGraphJson(value: unknown): ArchitectureGraph {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (e) {
      throw graphJsonError('$', `not valid JSON (${(e as Error).message})`);
    }
  }
  const top = readObject(
    value,
    '$',
    ['format', 'name', 'modelClass', 'opset', 'inputs', 'outputs', 'initializers', 'nodes', 'valueInfo'],
    ['format', 'name', 'opset', 'inputs', 'outputs', 'initializers', 'nodes'],
  );
  if (top.format !== GRAPH_JSON_FORMAT) {
    throw graphJsonError('$.format', `expected "${GRAPH_JSON_FORMAT}", got ${JSON.stringify(top.format)?.slice(0, 60)}`);
  }
  const budget = { constantElements: LIMITS.constantElements };
  const list = <T>(key: string, max: number, read: (v: unknown, path: string) => T): T[] =>
    readArray(top[key], `$.${key}`, max).map((v, i) => read(v, `$.${key}[${i}]`));
  const graph: ArchitectureGraph = {
    name: readString(top.name, '$.name'),
    ...(top.modelClass !== undefined ? { modelClass: readString(top.modelClass, '$.modelClass', { nonEmpty: true }) } : {}),
    opset: readInteger(top.opset, '$.opset', 1, 10_000),
    inputs: list('inputs', LIMITS.graphInputsOutputs, readValueInfo),
    outputs: list('outputs', LIMITS.graphInputsOutputs, readValueInfo),
    initializers: list('initializers', LIMITS.initializers, readInitializer),
    nodes: list('nodes', LIMITS.nodes, (v, path) => readNode(v, path, budget)),
  };
  if (top.valueInfo !== undefined) graph.valueInfo = list('valueInfo', LIMITS.valueInfo, readValueInfo);
  const names = new Set(graph.initializers.map((t) => t.name));
  graph.initializers.forEach((t, i) => {
    if (t.aliasOf !== undefined && (!names.has(t.aliasOf) || t.aliasOf === t.name)) {
      throw graphJsonError(`$.initializers[${i}].aliasOf`, `"${t.aliasOf}" is not another initializer`);
    }
  });
  validateGraph(graph);
  return graph;
}

function readValueInfo(value: unknown, path: string): ValueInfo {
  const v = readObject(value, path, ['name', 'dtype', 'shape'], ['name', 'dtype', 'shape']);
  return {
    name: readString(v.name, `${path}.name`, { nonEmpty: true }),
    dtype: readDtype(v.dtype, `${path}.dtype`),
    shape: readValueShape(v.shape, `${path}.shape`),
  };
}

function readInitializer(value: unknown, path: string): Initializer {
  const v = readObject(value, path, ['name', 'dtype', 'shape', 'isParameter', 'aliasOf'], ['name', 'dtype', 'shape', 'isParameter']);
  const t: Initializer = {
    name: readString(v.name, `${path}.name`, { nonEmpty: true }),
    dtype: readDtype(v.dtype, `${path}.dtype`),
    shape: readStaticShape(v.shape, `${path}.shape`),
    isParameter: readBoolean(v.isParameter, `${path}.isParameter`),
  };
  if (v.aliasOf !== undefined) t.aliasOf = readString(v.aliasOf, `${path}.aliasOf`, { nonEmpty: true });
  return t;
}

function readNode(value: unknown, path: string, budget: { constantElements: number }): GraphNode {
  const v = readObject(value, path, ['name', 'opType', 'inputs', 'outputs', 'attributes'], ['opType', 'inputs', 'outputs']);
  const names = (key: 'inputs' | 'outputs'): string[] =>
    readArray(v[key], `${path}.${key}`, LIMITS.nodeInputsOutputs).map((s, i) => readString(s, `${path}.${key}[${i}]`));
  const attributes: Record<string, AttributeValue> = {};
  if (v.attributes !== undefined) {
    const raw = readObject(v.attributes, `${path}.attributes`, Object.keys(v.attributes ?? {}), []);
    const keys = Object.keys(raw);
    if (keys.length > LIMITS.attributesPerNode) {
      throw graphJsonError(`${path}.attributes`, `has ${keys.length} attributes, more than ${LIMITS.attributesPerNode}`);
    }
    for (const key of keys) {
      const at = childPath(`${path}.attributes`, key);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || key === '__proto__') throw graphJsonError(at, 'is not a valid attribute name');
      attributes[key] = readAttribute(raw[key], at, budget);
    }
  }
  return {
    name: v.name === undefined ? '' : readString(v.name, `${path}.name`),
    opType: readString(v.opType, `${path}.opType`, { nonEmpty: true }),
    inputs: names('inputs'),
    outputs: names('outputs'),
    attributes,
  };
}

function readAttribute(value: unknown, path: string, budget: { constantElements: number }): AttributeValue {
  if (typeof value === 'number') return readElementFinite(value, path);
  if (typeof value === 'string') return readString(value, path);
  if (Array.isArray(value)) {
    const items = readArray(value, path, LIMITS.attributeArrayLength);
    if (items.every((x) => typeof x === 'string')) return items.map((s, i) => readString(s, childPath(path, i)));
    return items.map((x, i) => readElementFinite(x, childPath(path, i)));
  }
  return readConstantTensor(value, path, budget);
}

function readElementFinite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw graphJsonError(path, 'expected a finite number or a string');
  return value;
}

function readConstantTensor(value: unknown, path: string, budget: { constantElements: number }): ConstantTensor {
  const v = readObject(value, path, ['dtype', 'shape', 'values'], ['dtype', 'shape', 'values']);
  const dtype = readDtype(v.dtype, `${path}.dtype`);
  const shape = readStaticShape(v.shape, `${path}.shape`);
  const count = numElements(shape);
  if (count > budget.constantElements) {
    throw graphJsonError(`${path}.shape`, `constant tensors hold more than ${LIMITS.constantElements} elements in all`);
  }
  budget.constantElements -= count;
  const raw = readArray(v.values, `${path}.values`, count);
  if (raw.length !== count) throw graphJsonError(`${path}.values`, `has ${raw.length} values, the shape [${shape.join(', ')}] needs ${count}`);
  const integral = INT_DTYPES.has(dtype);
  const values = raw.map((x, i) => {
    const n = readElement(x, childPath(`${path}.values`, i));
    if (integral && !Number.isInteger(n)) throw graphJsonError(childPath(`${path}.values`, i), `expected an integer for dtype ${dtype}`);
    if (dtype === 'BOOL' && n !== 0 && n !== 1) throw graphJsonError(childPath(`${path}.values`, i), 'expected 0 or 1 for dtype BOOL');
    return n;
  });
  return { dtype, shape, values };
}
