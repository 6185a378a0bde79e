import type { HostTensor } from '../../core/runtime';
import { boundedElementCount, MAX_TENSOR_ELEMENTS } from '../../core/tensor/tensor-size';
import type { ModelSignature, RequestInput } from './model-signature';
import { datatypeOf, dtypeOfDatatype, invalid, tensorBytes, tensorFromBinary, tensorFromJson, tensorToJson } from './oip-tensors';

/** An inference request of the Open Inference Protocol, decoded (tensors built, not yet checked against a model). */
export interface DecodedInferRequest {
  id?: string;
  inputs: RequestInput[];
  /** Outputs asked for, in order; undefined means all of them. */
  outputs?: { name: string; binary?: boolean }[];
  /** `parameters.binary_data_output`: default for outputs that do not say. */
  binaryOutputs: boolean;
}

export interface EncodedResponse {
  contentType: string;
  /** Set when binary tensors follow the JSON header (`Inference-Header-Content-Length`). */
  headerLength?: number;
  body: Buffer;
}

const MAX_RANK = 16;
const MAX_TENSORS = 256;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalParameters(value: unknown, where: string): Json {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalid(`${where}: parameters must be an object`);
  return value;
}

/**
 * A shape: at most MAX_RANK non-negative integer dims, at most MAX_TENSOR_ELEMENTS elements, and no
 * more elements than the request has bytes (each value, JSON or binary, takes at least one): a
 * shape that the request cannot carry is refused before anything is allocated for it.
 */
function parseShape(value: unknown, where: string, bodyBytes: number | undefined): number[] {
  if (!Array.isArray(value) || value.length > MAX_RANK || !value.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw invalid(`${where}: shape must be an array of at most ${MAX_RANK} non-negative integers`);
  }
  const shape = value as number[];
  const count = boundedElementCount(shape);
  if (count === null) throw invalid(`${where}: shape [${shape.join(', ')}] has more than ${MAX_TENSOR_ELEMENTS} elements, the limit of one tensor`);
  if (bodyBytes !== undefined && count > bodyBytes) {
    throw invalid(`${where}: shape [${shape.join(', ')}] has ${count} elements, more than the ${bodyBytes}-byte request can carry`);
  }
  return shape;
}

/** Splits the body into the JSON header and the binary tensor data that follows it. */
function splitBody(body: Buffer, headerLength: string | undefined): { json: unknown; binary: Buffer } {
  let jsonBytes: Buffer = body;
  let binary: Buffer = Buffer.alloc(0);
  if (headerLength !== undefined) {
    const n = /^\d+$/.test(headerLength.trim()) ? Number(headerLength.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n > body.length) {
      throw invalid(`Inference-Header-Content-Length ${JSON.stringify(headerLength)} must be an integer no larger than the body (${body.length} bytes)`);
    }
    jsonBytes = body.subarray(0, n);
    binary = body.subarray(n);
  }
  try {
    return { json: JSON.parse(jsonBytes.toString('utf8')), binary };
  } catch {
    throw invalid(headerLength === undefined ? 'the request body is not valid JSON (binary tensors need the Inference-Header-Content-Length header)' : 'the JSON header of the request is not valid JSON');
  }
}

/**
 * Decodes an infer request: a JSON body, or (binary tensor data extension) a JSON header of
 * `headerLength` bytes followed by the tensors whose inputs carry `parameters.binary_data_size`,
 * in the order the inputs appear. A body the JSON parser already read arrives as an object.
 */
export function decodeInferRequest(body: Buffer | Json, headerLength: string | undefined): DecodedInferRequest {
  const { json, binary } = Buffer.isBuffer(body) ? splitBody(body, headerLength) : { json: body as unknown, binary: Buffer.alloc(0) };
  if (!isObject(json)) throw invalid('the request must be a JSON object with an `inputs` array');
  if (json.id !== undefined && typeof json.id !== 'string') throw invalid('id must be a string');
  const parameters = optionalParameters(json.parameters, 'request');
  if (parameters.binary_data_output !== undefined && typeof parameters.binary_data_output !== 'boolean') {
    throw invalid('parameters.binary_data_output must be a boolean');
  }
  if (!Array.isArray(json.inputs) || json.inputs.length === 0 || json.inputs.length > MAX_TENSORS) {
    throw invalid(`inputs must be an array of 1 to ${MAX_TENSORS} tensors`);
  }
  let offset = 0;
  const inputs: RequestInput[] = json.inputs.map((raw: unknown, i: number) => {
    if (!isObject(raw) || typeof raw.name !== 'string' || raw.name === '') throw invalid(`inputs[${i}] must be an object with a name`);
    const where = `input '${raw.name}'`;
    if (typeof raw.datatype !== 'string') throw invalid(`${where}: datatype must be a string such as FP32`);
    const dtype = dtypeOfDatatype(raw.datatype, where);
    const shape = parseShape(raw.shape, where, Buffer.isBuffer(body) ? body.length : undefined);
    const size = optionalParameters(raw.parameters, where).binary_data_size;
    if (size === undefined) {
      return { name: raw.name, datatype: raw.datatype, tensor: tensorFromJson(raw.name, raw.datatype, dtype, shape, raw.data) };
    }
    if (!Number.isSafeInteger(size) || (size as number) < 0) throw invalid(`${where}: binary_data_size must be a non-negative integer`);
    if (raw.data !== undefined) throw invalid(`${where}: give either data or binary_data_size, not both`);
    if (offset + (size as number) > binary.length) {
      throw invalid(`${where}: binary_data_size ${size as number} reaches past the ${binary.length} bytes that follow the JSON header`);
    }
    const bytes = binary.subarray(offset, offset + (size as number));
    offset += size as number;
    return { name: raw.name, datatype: raw.datatype, tensor: tensorFromBinary(raw.name, raw.datatype, dtype, shape, bytes) };
  });
  if (offset !== binary.length) {
    throw invalid(`${binary.length} bytes follow the JSON header, but the inputs' binary_data_size add up to ${offset}`);
  }
  let outputs: DecodedInferRequest['outputs'];
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs) || json.outputs.length > MAX_TENSORS) throw invalid('outputs must be an array');
    outputs = json.outputs.map((raw: unknown, i: number) => {
      if (!isObject(raw) || typeof raw.name !== 'string') throw invalid(`outputs[${i}] must be an object with a name`);
      const binaryData = optionalParameters(raw.parameters, `output '${raw.name}'`).binary_data;
      if (binaryData !== undefined && typeof binaryData !== 'boolean') throw invalid(`output '${raw.name}': parameters.binary_data must be a boolean`);
      return { name: raw.name, binary: binaryData as boolean | undefined };
    });
  }
  return { id: json.id as string | undefined, inputs, outputs, binaryOutputs: parameters.binary_data_output === true };
}

/** Checks the requested outputs against the model before anything runs. */
export function checkRequestedOutputs(signature: ModelSignature, request: DecodedInferRequest): void {
  const seen = new Set<string>();
  for (const { name } of request.outputs ?? []) {
    if (!signature.outputs.some((o) => o.name === name)) {
      throw invalid(`unknown output '${name}'; the model gives ${signature.outputs.map((o) => `'${o.name}'`).join(', ')}`);
    }
    if (seen.has(name)) throw invalid(`output '${name}' is requested twice`);
    seen.add(name);
  }
}

/**
 * The response: JSON, or when any output is binary the JSON header followed by those outputs'
 * bytes in the order they appear, with `application/octet-stream`.
 */
export function encodeInferResponse(
  modelName: string,
  modelVersion: string,
  request: DecodedInferRequest,
  signature: ModelSignature,
  results: Record<string, HostTensor>,
): EncodedResponse {
  const wanted = request.outputs ?? signature.outputs.map((o) => ({ name: o.name, binary: undefined }));
  const chunks: Uint8Array[] = [];
  const outputs = wanted.map(({ name, binary }) => {
    const t = results[name];
    const head = { name, datatype: datatypeOf(t.dtype), shape: t.shape };
    if (binary ?? request.binaryOutputs) {
      const bytes = tensorBytes(t);
      chunks.push(bytes);
      return { ...head, parameters: { binary_data_size: bytes.byteLength } };
    }
    return { ...head, data: tensorToJson(t) };
  });
  const response = { model_name: modelName, model_version: modelVersion, ...(request.id !== undefined ? { id: request.id } : {}), outputs };
  const header = Buffer.from(JSON.stringify(response), 'utf8');
  if (chunks.length === 0) return { contentType: 'application/json', body: header };
  return { contentType: 'application/octet-stream', headerLength: header.length, body: Buffer.concat([header, ...chunks]) };
}
