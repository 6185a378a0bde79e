import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planSoup } from '../core/averaging/engine';
import { checkpointBytes, testValues, type TestTensor } from '../core/averaging/testing/checkpoints';
import { readSafetensors } from '../core/formats/safetensors';
import { readAll } from '../core/formats/tensor-set';
import { bufferSource } from '../core/io/random-access';
import { buildProgram, runCli } from './program';

/** `weightsmith soup` in process: files in a temp cwd, stdout and stderr captured. */
let cwd: string;

function model(seed: number, extra: Partial<TestTensor> = {}): TestTensor[] {
  return [
    { name: 'fc.weight', shape: [8, 16], values: testValues(128, seed), ...extra },
    { name: 'fc.bias', shape: [8], values: testValues(8, seed + 50) },
    { name: 'bn.num_batches_tracked', shape: [], dtype: 'I64', values: [BigInt(seed)] },
  ];
}

async function soup(...args: string[]): Promise<{ status: number; json: Record<string, unknown> | null; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  let status: number;
  try {
    // Absolute paths: runCli resolves against the process cwd; buildProgram(cwd) is checked separately.
    status = await runCli(['node', 'weightsmith', 'soup', ...args.map((a) => (/\.(safetensors|yaml)$/.test(a) ? join(cwd, a) : a))]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { status, json: stdout ? (JSON.parse(stdout) as Record<string, unknown>) : null, stderr };
}

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(join(cwd, file))).digest('hex');

async function tensors(file: string): Promise<Map<string, Buffer>> {
  const set = await readSafetensors(bufferSource(await readFile(join(cwd, file))));
  const out = new Map<string, Buffer>();
  for (const t of set.tensors) out.set(t.name, Buffer.from(await readAll(t)));
  return out;
}

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'weightsmith-soup-'));
  for (const seed of [1, 2, 3]) await writeFile(join(cwd, `m${seed}.safetensors`), checkpointBytes(model(seed)));
  await writeFile(join(cwd, 'other.safetensors'), checkpointBytes(model(4, { shape: [16, 8] })));
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('weightsmith soup', () => {
  it('a uniform soup of identical files is the file\'s tensors bit for bit; prints every sha256', async () => {
    const r = await soup('--method', 'uniform', 'm1.safetensors', 'm1.safetensors', 'm1.safetensors', '--out', 'same.safetensors');
    expect(r.status).toBe(0);
    const [input, output] = await Promise.all([tensors('m1.safetensors'), tensors('same.safetensors')]);
    for (const [name, bytes] of input) expect(output.get(name)!.equals(bytes)).toBe(true);
    const sha = await sha256('m1.safetensors');
    expect(r.json).toMatchObject({ method: 'uniform', base: null, tensors: 3, sha256: await sha256('same.safetensors') });
    expect(r.json!.ingredients).toEqual([1, 2, 3].map(() => ({ path: join(cwd, 'm1.safetensors'), sha256: sha })));
  });

  it('resolves relative paths against the caller\'s directory', async () => {
    let stdout = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
    try {
      await buildProgram(cwd).parseAsync(['node', 'weightsmith', 'soup', '--method', 'weighted', '--weights', '0.25,0.75', 'm1.safetensors', 'm2.safetensors', '--out', 'rel.safetensors']);
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(stdout)).toMatchObject({ out: join(cwd, 'rel.safetensors'), parameters: { weights: [0.25, 0.75] } });
  });

  it.each([
    ['SOUP_WEIGHTS_INVALID', ['--method', 'weighted', '--weights', '0.5,0.6', 'm1.safetensors', 'm2.safetensors']],
    ['SOUP_WEIGHTS_INVALID', ['--method', 'weighted', '--weights', '1.5,-0.5', 'm1.safetensors', 'm2.safetensors']],
    ['SOUP_INGREDIENTS_INCOMPATIBLE', ['--method', 'uniform', 'm1.safetensors', 'other.safetensors']],
    ['SOUP_INGREDIENTS_EMPTY', ['--method', 'uniform']],
    ['SOUP_PARAMETERS_INVALID', ['--method', 'ties', '--density', '0.5', 'm1.safetensors', 'm2.safetensors']],
    ['SOUP_PARAMETERS_INVALID', ['--method', 'dare-linear', '--base', 'm1.safetensors', '--density', '1.5', 'm2.safetensors']],
  ])('refuses with %s and writes no file', async (codeName, args) => {
    const before = await readdir(cwd);
    const r = await soup(...args, '--out', 'refused.safetensors');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^weightsmith: ${codeName}: `));
    expect(await readdir(cwd)).toEqual(before);
  });

  it('applies a mergekit recipe; the same recipe on the same files gives the same sha256', async () => {
    const recipe = [
      'merge_method: ties',
      `base_model: ${join(cwd, 'm1.safetensors')}`,
      'models:',
      `  - model: ${join(cwd, 'm1.safetensors')}`,
      `  - model: ${join(cwd, 'm2.safetensors')}`,
      '    parameters: {weight: 0.7, density: 0.5}',
      `  - model: ${join(cwd, 'm3.safetensors')}`,
      '    parameters:',
      '      weight: 0.3',
      '      density: 0.75',
      'parameters:',
      '  lambda: 0.9',
      'dtype: float32',
    ].join('\n');
    await writeFile(join(cwd, 'ties.yaml'), recipe);
    const first = await soup('--recipe', 'ties.yaml', '--out', 'ties1.safetensors');
    const second = await soup('--recipe', 'ties.yaml', '--out', 'ties2.safetensors');
    expect(first.status).toBe(0);
    expect(first.json).toMatchObject({ method: 'ties', parameters: { weights: [0.7, 0.3], densities: [0.5, 0.75], lambda: 0.9, normalize: true } });
    expect(second.json!.sha256).toBe(first.json!.sha256);
    expect(await sha256('ties2.safetensors')).toBe(first.json!.sha256);
    // The same merge through the engine directly.
    const files = await Promise.all([1, 2, 3].map((s) => readFile(join(cwd, `m${s}.safetensors`))));
    const plan = await planSoup({
      method: 'ties',
      base: { label: 'b', source: bufferSource(files[0]) },
      models: files.slice(1).map((f, i) => ({ label: `m${i}`, source: bufferSource(f) })),
      parameters: { weights: [0.7, 0.3], densities: [0.5, 0.75], lambda: 0.9 },
    });
    const out = await tensors('ties1.safetensors');
    for (const t of plan.tensors) expect(out.get(t.name)!.equals(Buffer.from(await readAll(t)))).toBe(true);
  });

  it('DARE is reproducible by --seed; SLERP without --base starts from the first file', async () => {
    const dare = (seed: string, out: string) => soup('--method', 'dare-ties', '--base', 'm1.safetensors', '--density', '0.5', '--seed', seed, 'm2.safetensors', 'm3.safetensors', '--out', out);
    const [a, b, c] = [await dare('5', 'd1.safetensors'), await dare('5', 'd2.safetensors'), await dare('6', 'd3.safetensors')];
    expect(a.json!.sha256).toBe(b.json!.sha256);
    expect(c.json!.sha256).not.toBe(a.json!.sha256);
    const slerp = await soup('--method', 'slerp', '--t', '0', 'm2.safetensors', 'm3.safetensors', '--out', 'slerp0.safetensors');
    expect(slerp.json).toMatchObject({ base: { path: join(cwd, 'm2.safetensors') }, parameters: { t: 0 } });
    const [input, output] = await Promise.all([tensors('m2.safetensors'), tensors('slerp0.safetensors')]);
    for (const [name, bytes] of input) expect(output.get(name)!.equals(bytes)).toBe(true);
  });

  it('--help lists the fixed flags', async () => {
    let stdout = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
    try {
      expect(await runCli(['node', 'weightsmith', 'soup', '--help'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    for (const flag of ['--method', '--weights', '--base', '--density', '--t ', '--seed', '--recipe', '--out']) expect(stdout).toContain(flag);
    expect(stdout).toContain('model-stock');
  });
});
