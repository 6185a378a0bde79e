import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readSafetensors } from '../core/formats/safetensors';
import { readAll } from '../core/formats/tensor-set';
import { withFileSource } from '../core/io/random-access';
import { hostTensorFromBytes, maxAbsDiff, type HostTensor } from '../core/runtime';
import { fixturesDir, projectRoot } from '../core/testing/fixtures';

/** `weightsmith infer` in child processes through ts-node (no build needed), started together. */
jest.setTimeout(120_000);

const ROOT = projectRoot();
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TS_NODE = require.resolve('ts-node/register/transpile-only');
const RUNTIME = fixturesDir('runtime');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

let cwd: string;

function weightsmith(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), TS_NODE_TRANSPILE_ONLY: 'true' };
    execFile(process.execPath, ['-r', TS_NODE, MAIN, ...args], { cwd, env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

async function tensor(path: string, name: string): Promise<HostTensor> {
  return withFileSource(path, async (source) => {
    const t = (await readSafetensors(source)).tensors.find((x) => x.name === name);
    if (!t) throw new Error(`${path} has no ${name}`);
    return hostTensorFromBytes(t.dtype, t.shape, await readAll(t));
  });
}

/** Arguments for resnet18 on the fixture inputs, as paths relative to the temp cwd. */
const resnet18 = (out: string): string[] => {
  const rel = (f: string): string => relative(cwd, join(RUNTIME, f));
  return ['infer', '--arch', rel('resnet18.onnx'), '--weights', rel('resnet18.weights.safetensors'), '--input', rel('resnet18.io.safetensors'), '--out', out];
};

let runs: { ort: Promise<Run>; wasm: Promise<Run>; missingInput: Promise<Run>; backendWithOrt: Promise<Run>; help: Promise<Run> };

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'weightsmith-infer-'));
  runs = {
    ort: weightsmith(...resnet18('ort.safetensors')),
    wasm: weightsmith(...resnet18('wasm.safetensors'), '--engine', 'tfjs', '--backend', 'wasm'),
    // The weights file has no tensor named `input`.
    missingInput: weightsmith('infer', '--arch', join(RUNTIME, 'squeezenet1_0.onnx'), '--weights', join(RUNTIME, 'squeezenet1_0.weights.safetensors'), '--input', join(RUNTIME, 'squeezenet1_0.weights.safetensors'), '--out', 'missing.safetensors'),
    backendWithOrt: weightsmith(...resnet18('never.safetensors'), '--engine', 'onnxruntime', '--backend', 'cpu'),
    help: weightsmith('infer', '--help'),
  };
});

afterAll(async () => {
  await Promise.allSettled(Object.values(runs ?? {}));
  await rm(cwd, { recursive: true, force: true });
});

describe('weightsmith infer', () => {
  it.each([
    ['onnxruntime', 'ort', 'onnxruntime-cpu'],
    ['tfjs on wasm', 'wasm', 'tfjs-wasm'],
  ] as const)('writes resnet18 logits within 1e-3 of PyTorch with %s', async (_label, key, engine) => {
    const run = await runs[key];
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      engine,
      inputs: [{ name: 'input', dtype: 'F32', shape: [2, 3, 224, 224] }],
      outputs: [{ name: 'logits', dtype: 'F32', shape: [2, 1000] }],
      out: join(cwd, `${key}.safetensors`),
    });
    const written = await withFileSource(summary.out, async (source) => (await readSafetensors(source)).tensors.map((t) => t.name));
    expect(written).toEqual(['logits']);
    const diff = maxAbsDiff(await tensor(summary.out, 'logits'), await tensor(join(RUNTIME, 'resnet18.io.safetensors'), 'logits'));
    expect(diff).toBeLessThan(1e-3);
  });

  it('fails with one stderr line and no output file when the input file lacks a graph input', async () => {
    const run = await runs.missingInput;
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^weightsmith: TENSOR_NOT_FOUND: .*has no tensor 'input'.*\n$/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(cwd, 'missing.safetensors'))).toBe(false);
  });

  it('refuses --backend with the onnxruntime engine as a usage error (exit 2)', async () => {
    const run = await runs.backendWithOrt;
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('weightsmith: --backend applies to the tfjs engine only\n');
    expect(existsSync(join(cwd, 'never.safetensors'))).toBe(false);
  });

  it('documents its options in --help (exit 0)', async () => {
    const run = await runs.help;
    expect(run.status).toBe(0);
    for (const option of ['--arch', '--weights', '--input', '--out', '--engine', '--backend']) expect(run.stdout).toContain(option);
  });

  it('leaves no temporary files behind', async () => {
    await Promise.all(Object.values(runs));
    expect((await readdir(cwd)).sort()).toEqual(['ort.safetensors', 'wasm.safetensors']);
  });
});
