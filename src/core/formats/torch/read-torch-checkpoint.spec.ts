import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { CoreError } from '../../errors';
import { bufferSource, withFileSource } from '../../io/random-access';
import { fixturesDir } from '../../testing/fixtures';
import { readAll, type TensorSet } from '../tensor-set';
import { readTorchCheckpoint, sniffTorchFormat } from './read-torch-checkpoint';

// The real (mutable) module object, so that spies replace the functions every caller sees.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const childProcess: typeof import('node:child_process') = require('node:child_process');

const formatsDir = (name: string) => fixturesDir('checkpoint-formats', name);

interface ReferenceTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Minimal safetensors parsing (8-byte LE header length, JSON header, data_offsets). */
function readSafetensors(path: string): Map<string, ReferenceTensor> {
  const file = readFileSync(path);
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const dataStart = 8 + headerLength;
  const out = new Map<string, ReferenceTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets as [number, number];
    out.set(name, { dtype: info.dtype, shape: info.shape, bytes: file.subarray(dataStart + begin, dataStart + end) });
  }
  return out;
}

async function expectMatchesReference(set: TensorSet): Promise<void> {
  const reference = readSafetensors(fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.safetensors'));
  expect(reference.size).toBeGreaterThan(10);
  expect(set.tensors.map((t) => t.name).sort()).toEqual([...reference.keys()].sort());
  for (const tensor of set.tensors) {
    const expected = reference.get(tensor.name)!;
    expect({ name: tensor.name, dtype: tensor.dtype, shape: tensor.shape }).toEqual({ name: tensor.name, dtype: expected.dtype, shape: expected.shape });
    const bytes = await readAll(tensor);
    expect(Buffer.from(bytes).equals(Buffer.from(expected.bytes))).toBe(true);
  }
}

describe('readTorchCheckpoint on the golden checkpoint-formats fixtures', () => {
  it.each([
    ['ghn3_h32_l3.joblib.pt', 'joblib'],
    ['ghn3_h32_l3.torchsave.pt', 'torch-zip'],
    ['ghn3_h32_l3.state_dict.pt', 'torch-zip'],
  ])('%s yields the reference tensors bit for bit', async (file, format) => {
    await withFileSource(formatsDir(file), async (source) => {
      const set = await readTorchCheckpoint(source);
      expect(set.format).toBe(format);
      await expectMatchesReference(set);
    });
  });

  it('reports the torchsave config and epoch as metadata', async () => {
    await withFileSource(formatsDir('ghn3_h32_l3.torchsave.pt'), async (source) => {
      const set = await readTorchCheckpoint(source);
      expect(set.metadata.epoch).toBe(3);
      expect(set.metadata.config).toEqual(expect.objectContaining({ hid: 32, layers: 3, heads: 8, max_shape: [32, 32, 16, 16], is_ghn2: false }));
      expect(Object.keys(set.metadata).sort()).toEqual(['config', 'epoch']);
    });
  });

  it('plain state_dict files carry no metadata', async () => {
    for (const file of ['ghn3_h32_l3.state_dict.pt', 'ghn3_h32_l3.joblib.pt']) {
      const set = await withFileSource(formatsDir(file), (source) => readTorchCheckpoint(source));
      expect(set.metadata).toEqual({});
    }
  });

  it('sniffs the fixtures from their first bytes', () => {
    const head = (file: string) => {
      const fd = openSync(formatsDir(file), 'r');
      const bytes = new Uint8Array(32);
      readSync(fd, bytes, 0, 32, 0);
      closeSync(fd);
      return bytes;
    };
    expect(sniffTorchFormat(head('ghn3_h32_l3.joblib.pt'))).toBe('joblib');
    expect(sniffTorchFormat(head('ghn3_h32_l3.torchsave.pt'))).toBe('torch-zip');
    expect(sniffTorchFormat(head('ghn3_h32_l3.state_dict.pt'))).toBe('torch-zip');
    expect(sniffTorchFormat(new Uint8Array([0x7b, 0x22]))).toBeNull();
    expect(sniffTorchFormat(new Uint8Array())).toBeNull();
  });
});

describe('malicious pickle', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is refused with PICKLE_FORBIDDEN_GLOBAL naming posix.system, and spawns nothing', async () => {
    const spies = (['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const).map((name) =>
      jest.spyOn(childProcess, name),
    );
    const bytes = readFileSync(formatsDir('malicious.pkl.pt'));
    // The file calls os.system, which CPython pickles as posix.system.
    expect(bytes.includes(Buffer.from('posix\nsystem\n'))).toBe(true);
    const error = await readTorchCheckpoint(bufferSource(bytes)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoreError);
    expect((error as CoreError).code).toBe('PICKLE_FORBIDDEN_GLOBAL');
    expect((error as CoreError).message).toContain('posix.system');
    expect((error as CoreError).details).toEqual({ global: 'posix.system' });
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });
});
