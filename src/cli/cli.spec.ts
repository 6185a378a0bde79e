import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readSafetensors } from '../core/formats/safetensors';
import { readAll } from '../core/formats/tensor-set';
import { withFileSource } from '../core/io/random-access';
import { ghnGraphsEqual, parseGhnGraphJson } from '../core/graph/ghn';
import { fixturesDir, projectRoot } from '../core/testing/fixtures';
import { runCli } from './program';

/** Child processes through ts-node, so the unit suite needs no build; each spawn costs ~1.5 s. */
jest.setTimeout(60_000);

const ROOT = projectRoot();
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TS_NODE = require.resolve('ts-node/register/transpile-only');
const FORMATS = fixturesDir('checkpoint-formats');
const GHN_WEIGHTS = fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.safetensors');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** One temp cwd for all runs (file arguments resolve against it); outputs have distinct names. */
let cwd: string;

/** Child processes run a few at a time: each is CPU-bound for a second or two while ts-node compiles. */
const MAX_CONCURRENT = 4;
let running = 0;
const waiting: (() => void)[] = [];

async function nodeRun(args: string[]): Promise<Run> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await new Promise((resolve) => {
      const env = { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), TS_NODE_TRANSPILE_ONLY: 'true' };
      execFile(process.execPath, args, { cwd, env, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** `weightsmith ARGS` from source, through ts-node. */
function weightsmith(...args: string[]): Promise<Run> {
  return nodeRun(['-r', TS_NODE, MAIN, ...args]);
}

/** A fixture's path relative to the temp cwd, to prove relative arguments work. */
const rel = (path: string): string => relative(cwd, path);

async function tensorsByName(path: string): Promise<Map<string, { dtype: string; shape: readonly number[]; bytes: Buffer }>> {
  return withFileSource(path, async (source) => {
    const out = new Map<string, { dtype: string; shape: readonly number[]; bytes: Buffer }>();
    for (const t of (await readSafetensors(source)).tensors) out.set(t.name, { dtype: t.dtype, shape: t.shape, bytes: Buffer.from(await readAll(t)) });
    return out;
  });
}

const TORCH_LAYOUTS = ['joblib', 'torchsave', 'state_dict'];

/** Every child process starts up front, so their start-up costs overlap; tests await their own. */
let runs: {
  help: Promise<Run>;
  serveHelp: Promise<Run>;
  commandsWithoutNest: Promise<Run>;
  inspect: Promise<Run[]>;
  convert: Promise<Run[]>;
  malicious: Promise<Run[]>;
  graph: Promise<Run>;
};

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'weightsmith-cli-'));
  const bad = rel(join(FORMATS, 'malicious.pkl.pt'));
  const modules = ['program', 'commands/inspect', 'commands/convert', 'commands/graph', 'commands/soup'].map((m) => join(ROOT, 'src', 'cli', `${m}.ts`));
  runs = {
    help: weightsmith('--help'),
    serveHelp: weightsmith('serve', '--help'),
    // The non-serve commands' code, loaded in full, pulls in no Nest module.
    commandsWithoutNest: nodeRun([
      '-r',
      TS_NODE,
      '-e',
      `for (const m of ${JSON.stringify(modules)}) require(m);` +
        `process.stdout.write(String(Object.keys(require.cache).filter((k) => k.includes('@nestjs')).length))`,
    ]),
    inspect: Promise.all([
      weightsmith('inspect', rel(GHN_WEIGHTS)),
      weightsmith('inspect', rel(join(FORMATS, 'ghn3_h32_l3.torchsave.pt'))),
      weightsmith('inspect', rel(fixturesDir('arch', 'onnx', 'resnet18.onnx'))),
    ]),
    convert: Promise.all(TORCH_LAYOUTS.map((kind) => weightsmith('convert', rel(join(FORMATS, `ghn3_h32_l3.${kind}.pt`)), `${kind}.safetensors`))),
    malicious: Promise.all([weightsmith('inspect', bad), weightsmith('convert', bad, 'evil.safetensors')]),
    graph: weightsmith('graph', 'zoo:resnet18', '--builder', 'ghn3', '--ghn-graph', 'resnet18.ghn.json'),
  };
});

afterAll(async () => {
  await Promise.allSettled(Object.values(runs ?? {}));
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('weightsmith CLI', () => {
  it('--help exits 0 for the program and every command; only serve loads Nest', async () => {
    const [top, serveHelp, nest] = await Promise.all([runs.help, runs.serveHelp, runs.commandsWithoutNest]);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/Usage: weightsmith/);
    for (const command of ['serve', 'inspect', 'convert', 'graph']) expect(top.stdout).toContain(command);
    expect(serveHelp.status).toBe(0);
    expect(serveHelp.stdout).toContain('--data-dir');
    expect({ stdout: nest.stdout, stderr: nest.stderr }).toEqual({ stdout: '0', stderr: '' });

    // The other commands' help, in process (same program, no spawn cost).
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      for (const command of ['inspect', 'convert', 'graph', 'train', 'dataset']) {
        expect(await runCli(['node', 'weightsmith', command, '--help'])).toBe(0);
      }
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toContain('--ghn-graph');
    // One `dataset` command holds both subcommands.
    expect(written.join('')).toMatch(/pack[\s\S]*import|import[\s\S]*pack/);
  });

  it('inspect prints only JSON for safetensors, torch.save and graph-only ONNX files', async () => {
    const [st, pt, onnx] = await runs.inspect;
    for (const run of [st, pt, onnx]) expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });

    const safetensors = JSON.parse(st.stdout);
    expect(safetensors).toMatchObject({ file: GHN_WEIGHTS, format: 'safetensors', tensorCount: 60, sizeBytes: (await readFile(GHN_WEIGHTS)).length });
    const expected = await tensorsByName(GHN_WEIGHTS);
    expect(safetensors.tensors).toEqual([...expected].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] })));
    const elements = [...expected.values()].reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(safetensors.parameterCount).toBe(elements);

    const torch = JSON.parse(pt.stdout);
    expect(torch).toMatchObject({ format: 'torch-zip', tensorCount: 60, parameterCount: elements });
    expect(torch.metadata).toMatchObject({ epoch: 3, config: { hid: 32, layers: 3, is_ghn2: false } });
    expect(new Set(torch.tensors.map((t: { name: string }) => t.name))).toEqual(new Set(expected.keys()));

    // The weights are external data that is not shipped: every initializer is still listed.
    const model = JSON.parse(onnx.stdout);
    expect(model).toMatchObject({ format: 'onnx', tensorCount: 102, parameterCount: 11_699_112 });
    expect(model.tensors[0]).toEqual({ name: 'conv1.weight', dtype: 'F32', shape: [64, 3, 7, 7] });
    expect(model.tensors).toContainEqual({ name: 'fc.weight', dtype: 'F32', shape: [1000, 512] });
  });

  it('convert turns the three torch layouts into safetensors bit-identical to the reference', async () => {
    const converted = await runs.convert;
    const expected = await tensorsByName(GHN_WEIGHTS);
    for (const [i, kind] of TORCH_LAYOUTS.entries()) {
      const run = converted[i];
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      const out = join(cwd, `${kind}.safetensors`);
      const bytes = await readFile(out);
      const summary = JSON.parse(run.stdout);
      expect(summary).toMatchObject({ out, tensors: 60, bytes: bytes.length, format: kind === 'joblib' ? 'joblib' : 'torch-zip' });
      expect(summary.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      const tensors = await tensorsByName(out);
      expect([...tensors.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [name, t] of expected) {
        const c = tensors.get(name)!;
        expect({ name, dtype: c.dtype, shape: c.shape }).toEqual({ name, dtype: t.dtype, shape: t.shape });
        expect(c.bytes.equals(t.bytes)).toBe(true);
      }
    }
  });

  it('refuses the malicious pickle with one stderr line naming posix.system and leaves no file', async () => {
    for (const run of await runs.malicious) {
      expect(run.status).not.toBe(0);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^weightsmith: PICKLE_FORBIDDEN_GLOBAL: .*posix\.system/);
    }
    expect((await readdir(cwd)).filter((f) => f.startsWith('evil'))).toEqual([]);
  });

  it('graph zoo:resnet18 --builder ghn3 writes the official GHN graph', async () => {
    const run = await runs.graph;
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toMatchObject({ arch: 'resnet18', builder: 'ghn3', nodes: 53 });
    const built = parseGhnGraphJson(await readFile(join(cwd, 'resnet18.ghn.json'), 'utf8'));
    const expected = parseGhnGraphJson(await readFile(fixturesDir('ghn', 'graphs', 'ghn3', 'resnet18.json'), 'utf8'));
    expect(ghnGraphsEqual(built, expected).differences).toEqual([]);
    expect((await readdir(cwd)).filter((f) => f.includes('.tmp-'))).toEqual([]); // no temp file left behind
  });
});
