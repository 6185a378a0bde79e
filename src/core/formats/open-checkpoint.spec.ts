import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreError } from '../errors';
import { bufferSource, withFileSource } from '../io/random-access';
import { fixturesDir } from '../testing/fixtures';
import { detectCheckpointFormat, metadataForSafetensors, openCheckpoint, writeTensorSetAsSafetensors } from './open-checkpoint';
import { readSafetensors } from './safetensors';
import { readAll, type LazyTensor, type TensorSet } from './tensor-set';

const detectFile = (path: string, filename?: string) => withFileSource(path, (source) => detectCheckpointFormat(source, filename));
const detectBytes = (bytes: Uint8Array | string, filename?: string) =>
  detectCheckpointFormat(bufferSource(typeof bytes === 'string' ? Buffer.from(bytes) : bytes), filename);

async function expectCoreError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CoreError);
  expect((error as CoreError).code).toBe(code);
}

const GARBAGE = 'this is definitely not a checkpoint of any kind';

describe('detectCheckpointFormat', () => {
  it.each([
    ['ghn3_h32_l3.joblib.pt', 'joblib'],
    ['ghn3_h32_l3.torchsave.pt', 'torch-zip'],
    ['ghn3_h32_l3.state_dict.pt', 'torch-zip'],
    // A bare pickle is sniffed as a joblib/pickle file; the restricted unpickler refuses it later.
    ['malicious.pkl.pt', 'joblib'],
  ])('sniffs checkpoint-formats/%s as %s', async (file, format) => {
    const path = fixturesDir('checkpoint-formats', file);
    await expect(detectFile(path, file)).resolves.toBe(format);
    // The bytes decide, not the name.
    await expect(detectFile(path, 'renamed.safetensors')).resolves.toBe(format);
  });

  it.each(['ghn3_h32_l3', 'ghn2mode_h32', 'ppuda_ghn2_h32'])('sniffs ghn/ghn/%s.safetensors as safetensors, whatever its name', async (name) => {
    const path = fixturesDir('ghn', 'ghn', `${name}.safetensors`);
    await expect(detectFile(path, `${name}.safetensors`)).resolves.toBe('safetensors');
    await expect(detectFile(path, 'weights.pt')).resolves.toBe('safetensors');
    await expect(detectFile(path)).resolves.toBe('safetensors');
  });

  it('sniffs an ONNX model from its ir_version field, unless it is named .safetensors', async () => {
    const path = fixturesDir('arch', 'onnx', 'resnet18.onnx');
    await expect(detectFile(path, 'resnet18.onnx')).resolves.toBe('onnx');
    // `.bin` means a PyTorch file (pytorch_model.bin): ONNX bytes under that name are refused.
    await expect(detectFile(path, 'model.bin')).rejects.toMatchObject({ code: 'TORCH_FORMAT_INVALID' });
    await expect(detectFile(path)).resolves.toBe('onnx');
    await expect(detectFile(path, 'model.safetensors')).resolves.toBe('safetensors');
  });

  it.each(['x.pt', 'x.PTH', 'x.bin', 'x.ckpt'])('refuses unrecognised bytes named %s with TORCH_FORMAT_INVALID', async (name) => {
    await expectCoreError(detectBytes(GARBAGE, name), 'TORCH_FORMAT_INVALID');
  });

  it('refuses an empty file named .pt', async () => {
    await expectCoreError(detectBytes(new Uint8Array(0), 'empty.pt'), 'TORCH_FORMAT_INVALID');
  });

  it.each([undefined, 'x.weights', 'noextension', 'x.safetensors', 'x.onnx.tmp'])(
    'reads unrecognised bytes named %s as safetensors (its validator explains)',
    async (name) => {
      await expect(detectBytes(GARBAGE, name)).resolves.toBe('safetensors');
    },
  );

  it('uses the extension when the bytes say nothing: .onnx means onnx', async () => {
    await expect(detectBytes(GARBAGE, 'model.onnx')).resolves.toBe('onnx');
  });

  it('does not take a header-like prefix for safetensors when its declared length runs past the end', async () => {
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64LE(1000n, 0);
    bytes.write('{"a":1}', 8);
    await expect(detectBytes(bytes, 'x.safetensors')).resolves.toBe('safetensors');
    await expectCoreError(detectBytes(bytes, 'x.pt'), 'TORCH_FORMAT_INVALID');
    bytes.writeBigUInt64LE(8n, 0);
    await expect(detectBytes(bytes, 'x.pt')).resolves.toBe('safetensors');
  });
});

function referenceTensors(): Map<string, { dtype: string; shape: number[]; sha256: string }> {
  const file = readFileSync(fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.safetensors'));
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { dtype: string; shape: number[]; sha256: string }>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const bytes = file.subarray(8 + headerLength + info.data_offsets[0], 8 + headerLength + info.data_offsets[1]);
    out.set(name, { dtype: info.dtype, shape: info.shape, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return out;
}

describe('writeTensorSetAsSafetensors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ws-open-checkpoint-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('converts the torchsave fixture: reference tensors, source_format and the config as a JSON string', async () => {
    const out = join(dir, 'torchsave.safetensors');
    const result = await withFileSource(fixturesDir('checkpoint-formats', 'ghn3_h32_l3.torchsave.pt'), async (source) => {
      const set = await openCheckpoint(source, { filename: 'ghn3_h32_l3.torchsave.pt' });
      expect(set.format).toBe('torch-zip');
      return writeTensorSetAsSafetensors(set, out);
    });
    const written = await readFile(out);
    expect(result.bytesWritten).toBe(written.length);
    expect(result.sha256).toBe(createHash('sha256').update(written).digest('hex'));

    await withFileSource(out, async (source) => {
      const set = await readSafetensors(source);
      const metadata = set.header.metadata!;
      expect(metadata.source_format).toBe('torch-zip');
      expect(typeof metadata.config).toBe('string');
      expect(JSON.parse(metadata.config)).toEqual(expect.objectContaining({ hid: 32, layers: 3, heads: 8, is_ghn2: false }));
      expect(metadata.epoch).toBe('3');
      const reference = referenceTensors();
      expect(set.tensors.map((t) => t.name).sort()).toEqual([...reference.keys()].sort());
      for (const tensor of set.tensors) {
        const expected = reference.get(tensor.name)!;
        const sha = createHash('sha256').update(await readAll(tensor)).digest('hex');
        expect({ name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, sha }).toEqual({ name: tensor.name, dtype: expected.dtype, shape: expected.shape, sha: expected.sha256 });
      }
    });
  });

  it('does not add source_format to a set that already is safetensors', async () => {
    const tensor: LazyTensor = {
      name: 'w',
      dtype: 'F32',
      shape: [2],
      async *chunks() {
        yield new Uint8Array(new Float32Array([1, 2]).buffer);
      },
    };
    const set: TensorSet = { format: 'safetensors', tensors: [tensor], metadata: { note: 'kept', step: 7 } };
    const out = join(dir, 'plain.safetensors');
    await writeTensorSetAsSafetensors(set, out);
    const back = await readSafetensors(bufferSource(await readFile(out)));
    expect(back.header.metadata).toEqual({ note: 'kept', step: '7' });
    expect(Array.from(new Float32Array((await readAll(back.tensors[0])).slice().buffer))).toEqual([1, 2]);
  });
});

describe('metadataForSafetensors', () => {
  it('keeps strings, stringifies everything else as JSON, and drops undefined', () => {
    expect(metadataForSafetensors({ s: 'text', n: 3, f: 0.5, b: true, z: null, o: { a: [1, 'x'] }, a: [1, 2], u: undefined })).toEqual({
      s: 'text',
      n: '3',
      f: '0.5',
      b: 'true',
      z: 'null',
      o: '{"a":[1,"x"]}',
      a: '[1,2]',
    });
  });

  it('does not quote strings that look like JSON', () => {
    expect(metadataForSafetensors({ j: '{"a":1}', q: '"quoted"' })).toEqual({ j: '{"a":1}', q: '"quoted"' });
  });
});
