import type { ArchitectureGraph } from '../../core/graph/ir';
import { checkRequestInputs, signatureOf, type ModelSignature } from './model-signature';
import { checkRequestedOutputs, decodeInferRequest, encodeInferResponse } from './oip-codec';

const graph = (inputs: ArchitectureGraph['inputs'], outputs: ArchitectureGraph['outputs']): ArchitectureGraph => ({
  name: 'm',
  opset: 17,
  inputs,
  outputs,
  initializers: [],
  nodes: [],
});

const IMAGE: ModelSignature = signatureOf(
  graph([{ name: 'input', dtype: 'F32', shape: ['batch', 3, 2, 2] }], [{ name: 'logits', dtype: 'F32', shape: ['batch', 4] }]),
);

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** A body in the binary tensor data extension's framing, and its header length. */
function binaryBody(header: unknown, ...tensors: Uint8Array[]): { body: Buffer; headerLength: string } {
  const head = json(header);
  return { body: Buffer.concat([head, ...tensors]), headerLength: String(head.length) };
}

const inputOf = (data: unknown, shape = [1, 3, 2, 2], datatype = 'FP32') => ({ inputs: [{ name: 'input', shape, datatype, data }] });
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i / 4);

describe('signatureOf', () => {
  it('marks models whose inputs and outputs share a leading variable dim as batchable, and serves float outputs as F32', () => {
    expect(IMAGE.batchable).toBe(true);
    const fixed = signatureOf(graph([{ name: 'x', dtype: 'F32', shape: [1, 3] }], [{ name: 'y', dtype: 'F16', shape: [1, 3] }]));
    expect(fixed).toEqual({ inputs: [{ name: 'x', dtype: 'F32', shape: [1, 3] }], outputs: [{ name: 'y', dtype: 'F32', shape: [1, 3] }], batchable: false });
    expect(signatureOf(graph([{ name: 'x', dtype: 'F32', shape: ['n', 3] }], [{ name: 'y', dtype: 'F32', shape: [3] }])).batchable).toBe(false);
  });
});

describe('decodeInferRequest + checkRequestInputs', () => {
  it('accepts flat and nested row-major data alike, and echoes the id', () => {
    const flat = decodeInferRequest(json({ id: '42', ...inputOf(range(12)) }), undefined);
    const nested = decodeInferRequest(json(inputOf([[[[0, 0.25], [0.5, 0.75]], [[1, 1.25], [1.5, 1.75]], [[2, 2.25], [2.5, 2.75]]]])), undefined);
    expect(flat.id).toBe('42');
    expect(Array.from(flat.inputs[0].tensor.data as Float32Array)).toEqual(range(12));
    expect(nested.inputs[0].tensor).toEqual(flat.inputs[0].tensor);
    expect(checkRequestInputs(IMAGE, flat.inputs, 8)).toMatchObject({ rows: 1, batchKey: 'F32:3x2x2' });
  });

  it('reads binary inputs after the JSON header, in input order', () => {
    const values = Float32Array.from(range(24));
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'input', shape: [2, 3, 2, 2], datatype: 'FP32', parameters: { binary_data_size: 96 } }], parameters: { binary_data_output: true } },
      new Uint8Array(values.buffer),
    );
    const request = decodeInferRequest(body, headerLength);
    expect(Array.from(request.inputs[0].tensor.data as Float32Array)).toEqual(Array.from(values));
    expect(request.binaryOutputs).toBe(true);
    expect(checkRequestInputs(IMAGE, request.inputs, 8).rows).toBe(2);
  });

  it.each([
    ['a wrong element count', json(inputOf(range(11))), undefined, /data has 11 values, shape \[1, 3, 2, 2\] needs 12/],
    ['a string value', json(inputOf([...range(11), 'x'])), undefined, /"x" is not a valid FP32 value/],
    ['an unknown datatype', json(inputOf(range(12), [1, 3, 2, 2], 'FLOAT')), undefined, /not an Open Inference Protocol datatype/],
    ['an unsupported datatype', json(inputOf(range(12), [1, 3, 2, 2], 'UINT32')), undefined, /UINT32.*not supported/],
    ['a negative dim', json(inputOf(range(12), [-1, 3, 2, 2])), undefined, /shape must be an array/],
    ['no inputs', json({ inputs: [] }), undefined, /inputs must be an array/],
    ['invalid JSON', Buffer.from('{"inputs": ['), undefined, /not valid JSON/],
    ['an INT8 out of range', json({ inputs: [{ name: 'i', shape: [1], datatype: 'INT8', data: [300] }] }), undefined, /300 is not a valid INT8/],
    ['data nested too deeply', json(inputOf(JSON.parse('['.repeat(40) + ']'.repeat(40)))), undefined, /nested more than 32 levels/],
    ['a header length past the body', json(inputOf(range(12))), '100000', /Inference-Header-Content-Length/],
  ])('rejects %s with a 400-class error', (_label, body, headerLength, message) => {
    expect(() => decodeInferRequest(body, headerLength)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringMatching(message) }));
  });

  it('refuses a shape the request cannot carry before allocating for it, JSON or binary, parsed or raw', () => {
    const huge = [1e12, 3, 224, 224];
    expect(() => decodeInferRequest(json(inputOf([1], huge)), undefined)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/shape \[1000000000000, 3, 224, 224\] has more than 2147483647 elements/) }),
    );
    expect(() => decodeInferRequest(inputOf([1], huge), undefined)).toThrow(/more than 2147483647 elements, the limit of one tensor/);
    const binary = binaryBody({ inputs: [{ name: 'input', shape: huge, datatype: 'FP32', parameters: { binary_data_size: 4 } }] }, new Uint8Array(4));
    expect(() => decodeInferRequest(binary.body, binary.headerLength)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/more than 2147483647 elements/) }));
    // Within the tensor limit but more values than the body has bytes.
    const big = json(inputOf([1], [1, 3, 4096, 4096]));
    expect(() => decodeInferRequest(big, undefined)).toThrow(new RegExp(`has 50331648 elements, more than the ${big.length}-byte request can carry`));
    // A parsed body has no byte count: the values are counted before the tensor is allocated.
    expect(() => decodeInferRequest(inputOf([1], [1, 3, 4096, 4096]), undefined)).toThrow(/data has 1 values, shape \[1, 3, 4096, 4096\] needs 50331648/);
  });

  it('rejects binary sizes that do not match the shape or the bytes that follow', () => {
    const header = { inputs: [{ name: 'input', shape: [1, 3, 2, 2], datatype: 'FP32', parameters: { binary_data_size: 40 } }] };
    expect(() => decodeInferRequest(...(Object.values(binaryBody(header, new Uint8Array(40))) as [Buffer, string]))).toThrow(/binary_data_size is 40 bytes, FP32 \[1, 3, 2, 2\] needs 48/);
    const short = binaryBody({ inputs: [{ ...header.inputs[0], parameters: { binary_data_size: 48 } }] }, new Uint8Array(20));
    expect(() => decodeInferRequest(short.body, short.headerLength)).toThrow(/reaches past the 20 bytes/);
    const extra = binaryBody({ inputs: [{ ...header.inputs[0], parameters: { binary_data_size: 48 } }] }, new Uint8Array(52));
    expect(() => decodeInferRequest(extra.body, extra.headerLength)).toThrow(/52 bytes follow the JSON header, but .* add up to 48/);
  });

  it.each([
    ['a wrong datatype', inputOf(range(12).map(() => 1), [1, 3, 2, 2], 'INT32'), /has datatype INT32, the model expects FP32/],
    ['a wrong shape', inputOf(range(16), [1, 4, 2, 2]), /has shape \[1, 4, 2, 2\], the model expects \[-1, 3, 2, 2\]/],
    ['a wrong rank', inputOf(range(12), [3, 2, 2]), /has shape \[3, 2, 2\]/],
    ['an unknown input', { inputs: [{ name: 'image', shape: [1], datatype: 'FP32', data: [1] }] }, /unknown input 'image'; the model takes 'input'/],
    ['a batch over maxBatchSize', inputOf(range(120), [10, 3, 2, 2]), /batch of 10, more than the model's maxBatchSize 8/],
    ['an empty batch', inputOf([], [0, 3, 2, 2]), /empty batch/],
  ])('refuses %s against the model', (_label, body, message) => {
    const request = decodeInferRequest(json(body), undefined);
    expect(() => checkRequestInputs(IMAGE, request.inputs, 8)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringMatching(message) }));
  });

  it('refuses unknown and repeated outputs', () => {
    const unknown = decodeInferRequest(json({ ...inputOf(range(12)), outputs: [{ name: 'probs' }] }), undefined);
    expect(() => checkRequestedOutputs(IMAGE, unknown)).toThrow(/unknown output 'probs'; the model gives 'logits'/);
    const twice = decodeInferRequest(json({ ...inputOf(range(12)), outputs: [{ name: 'logits' }, { name: 'logits' }] }), undefined);
    expect(() => checkRequestedOutputs(IMAGE, twice)).toThrow(/requested twice/);
  });
});

describe('encodeInferResponse', () => {
  const logits = { logits: { dtype: 'F32' as const, shape: [1, 4], data: Float32Array.from([0.5, -1, 2, 3.25]) } };

  it('answers JSON by default, with model name, version and echoed id', () => {
    const request = decodeInferRequest(json({ id: 'abc', ...inputOf(range(12)) }), undefined);
    const res = encodeInferResponse('m', '1', request, IMAGE, logits);
    expect(res.contentType).toBe('application/json');
    expect(res.headerLength).toBeUndefined();
    expect(JSON.parse(res.body.toString())).toEqual({
      model_name: 'm',
      model_version: '1',
      id: 'abc',
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 4], data: [0.5, -1, 2, 3.25] }],
    });
  });

  it('appends binary outputs after the JSON header when asked per output', () => {
    const request = decodeInferRequest(json({ ...inputOf(range(12)), outputs: [{ name: 'logits', parameters: { binary_data: true } }] }), undefined);
    const res = encodeInferResponse('m', '1', request, IMAGE, logits);
    expect(res.contentType).toBe('application/octet-stream');
    const header = JSON.parse(res.body.subarray(0, res.headerLength).toString());
    expect(header.outputs).toEqual([{ name: 'logits', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }]);
    const tail = res.body.subarray(res.headerLength!);
    expect(Array.from(new Float32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + 16)))).toEqual([0.5, -1, 2, 3.25]);
  });
});
