import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDataset } from '../core/datasets';
import { simplePng } from '../core/datasets/testing/png-writer';
import { assertRelativeWithin } from '../core/ghn/testing-ghn-fixtures';
import { withFileSource } from '../core/io/random-access';
import { hostTensorOf, readSafetensorsFile } from '../core/runtime/testing/runtime-testing';
import { trainFixturesDir } from '../core/train/testing/train-fixture-model';
import { nativeKernelsOff } from '../../test/utils/native-kernels';
import { buildProgram } from './program';

/** `weightsmith train` and `dataset pack` through the command tree (in process), stdout captured. */
jest.setTimeout(60_000);

const dir = trainFixturesDir;
let cwd: string;

async function weightsmith(...args: string[]): Promise<unknown> {
  let stdout = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    await buildProgram(cwd).parseAsync(['node', 'weightsmith', ...args]);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(stdout);
}

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'weightsmith-train-'));
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const floats = (t: ReturnType<typeof hostTensorOf>) => Float32Array.from(Array.from(t.data, Number));

describe('weightsmith train: 3 full-batch steps equal PyTorch (the training fixtures)', () => {
  it.each([
    ['cnn_bn', 'sgd', 8, ['--lr', '0.1', '--momentum', '0.9', '--weight-decay', '0.0005']],
    ['mlp', 'adam-cm', 16, ['--lr', '0.01', '--top-c', '2', '--decay', '0.7', '--label-smoothing', '0.1']],
    ['mlp', 'adamw', 16, ['--lr', '0.01', '--weight-decay', '0.01', '--label-smoothing', '0.1']],
  ])('%s with %s: written weights, buffers and num_batches_tracked, and the losses', async (m, optimizer, batch, flags) => {
    const out = `${m}.${optimizer}.safetensors`;
    const summary = (await weightsmith(
      'train', '--arch', join(dir, `${m}.onnx`), '--weights', join(dir, `${m}.weights.safetensors`), '--data', join(dir, `${m}.data.safetensors`),
      '--optimizer', optimizer, ...flags, '--batch-size', String(batch), '--steps', '3', '--no-shuffle', '--out', out,
    )) as { steps: number; losses: number[]; finalLoss: number; out: string; nativeKernels: { active: boolean; referencePrimitives: unknown[] } };
    expect(summary).toMatchObject({ steps: 3, out: join(cwd, out) });
    // Convolutions ran on the oneDNN addon unless this suite runs without it (WEIGHTSMITH_NATIVE_KERNELS=off).
    expect(summary.nativeKernels).toMatchObject({ active: !nativeKernelsOff(), referencePrimitives: [] });
    const golden = await readSafetensorsFile(join(dir, `${m}.${optimizer}.safetensors`));
    const written = await readSafetensorsFile(join(cwd, out));
    const names = [...golden.keys()].filter((n) => n !== 'loss');
    expect([...written.keys()].sort()).toEqual(names.sort());
    assertRelativeWithin('loss', summary.losses, floats(hostTensorOf(golden, 'loss')), 1e-4);
    for (const name of names) {
      expect(written.get(name)?.dtype).toBe(golden.get(name)?.dtype);
      assertRelativeWithin(name, floats(hostTensorOf(written, name)), floats(hostTensorOf(golden, name)), 1e-4);
    }
    if (m === 'cnn_bn') expect(Number(hostTensorOf(written, 'bn1.num_batches_tracked').data[0])).toBe(3);
  });

  it('refuses an option of another optimizer, and both --steps and --epochs', async () => {
    const base = ['train', '--arch', join(dir, 'mlp.onnx'), '--weights', join(dir, 'mlp.weights.safetensors'), '--data', join(dir, 'mlp.data.safetensors'), '--batch-size', '4', '--out', 'x.safetensors'];
    await expect(weightsmith(...base, '--optimizer', 'sgd', '--top-c', '2', '--steps', '1')).rejects.toMatchObject({ code: 'TRAINING_OPTIONS_INVALID', message: expect.stringContaining('optimizer.topC') });
    await expect(weightsmith(...base, '--optimizer', 'sgd', '--steps', '1', '--epochs', '1')).rejects.toThrow(/exactly one of --steps and --epochs/);
  });

  it('shuffled epochs with a partial last batch run to the end', async () => {
    const summary = (await weightsmith(
      'train', '--arch', join(dir, 'mlp.onnx'), '--weights', join(dir, 'mlp.weights.safetensors'), '--data', join(dir, 'mlp.data.safetensors'),
      '--optimizer', 'sgd', '--lr', '0.05', '--momentum', '0.9', '--nesterov', '--batch-size', '6', '--epochs', '2', '--seed', '3', '--out', 'shuffled.safetensors',
    )) as { steps: number; epochs: number; losses: number[] };
    expect(summary.steps).toBe(6);
    expect(summary.epochs).toBe(2);
    expect(summary.losses.every(Number.isFinite)).toBe(true);
  });
});

describe('weightsmith dataset pack', () => {
  it('packs a directory of class folders, as an archive of it would be read', async () => {
    const root = join(cwd, 'images');
    await mkdir(join(root, 'dog'), { recursive: true });
    await mkdir(join(root, 'cat'), { recursive: true });
    await writeFile(join(root, 'dog', 'b.png'), simplePng(2, 2, 1, [200, 200, 200, 200]));
    await writeFile(join(root, 'dog', 'a.png'), simplePng(4, 4, 1, new Array(16).fill(100)));
    await writeFile(join(root, 'cat', 'z.png'), simplePng(2, 2, 3, [10, 20, 30, 10, 20, 30, 10, 20, 30, 10, 20, 30]));
    await writeFile(join(root, 'cat', '.DS_Store'), 'x');
    await symlink(join(root, 'dog', 'b.png'), join(root, 'cat', 'link.png'));
    const summary = (await weightsmith('dataset', 'pack', 'images', '--out', 'images.safetensors', '--size', '2x2', '--channels', '1')) as { shape: number[]; classNames: string[] };
    expect(summary).toMatchObject({ shape: [3, 1, 2, 2], classNames: ['cat', 'dog'] });
    const dataset = await withFileSource(join(cwd, 'images.safetensors'), (source) => readDataset(source));
    expect(Array.from(dataset.labels)).toEqual([0, 1, 1]);
    expect(Array.from(dataset.inputs.subarray(4))).toEqual([100, 100, 100, 100, 200, 200, 200, 200]);
    expect(dataset.classNames).toEqual(['cat', 'dog']);
    // Without --size, every image takes the first one's size (cat/z.png: 2×2, RGB).
    const natural = (await weightsmith('dataset', 'pack', 'images', '--out', 'natural.safetensors')) as { shape: number[] };
    expect(natural.shape).toEqual([3, 3, 2, 2]);
    await expect(weightsmith('dataset', 'pack', 'images', '--out', 'bad.safetensors', '--size', '2by2')).rejects.toThrow(/--size must be HxW/);
  });
});
