import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importOnnxGraph } from '../graph/onnx-import';
import { fixturesDir } from '../testing/fixtures';
import { createEngine } from './engine';
import type { EngineKind } from './engine-types';
import { maxAbsDiff, type TensorBytes } from './host-tensor';
import { hostTensorOf, readSafetensorsFile, useBackend } from './testing/runtime-testing';
import { onnxEmbeddedWeights } from './weights';

/**
 * fixtures/ghn/runs/<cfg>/<arch>.onnx: small models with GHN-predicted parameters embedded (some
 * BatchNorm statistics only as exporter aliases). Run on the input the manifest names for the
 * arch, they must give `logits/eval_bn_default_stats` within 1e-3.
 */
const RUNS_DIR = fixturesDir('ghn', 'runs');
const manifest = JSON.parse(readFileSync(fixturesDir('ghn', 'manifest.json'), 'utf8')) as { archs: { name: string; input: string }[] };
const inputOf = new Map(manifest.archs.map((a) => [a.name, a.input]));

const runs = readdirSync(RUNS_DIR)
  .sort()
  .flatMap((cfg) =>
    readdirSync(join(RUNS_DIR, cfg))
      .filter((f) => f.endsWith('.onnx'))
      .sort()
      .map((f) => [cfg, f.slice(0, -'.onnx'.length)] as const),
  );

let inputs: Map<string, TensorBytes>;

beforeAll(async () => {
  inputs = await readSafetensorsFile(fixturesDir('ghn', 'inputs.safetensors'));
});

it('finds the small-model runs of every config', () => {
  expect(new Set(runs.map(([cfg]) => cfg))).toEqual(new Set(['ghn2mode_h32', 'ghn3_h32_l3', 'ppuda_ghn2_h32']));
  expect(runs.length).toBeGreaterThanOrEqual(15);
});

async function expectRun(kind: EngineKind, cfg: string, arch: string): Promise<void> {
  const bytes = readFileSync(join(RUNS_DIR, cfg, `${arch}.onnx`));
  const graph = importOnnxGraph(bytes);
  const expected = hostTensorOf(await readSafetensorsFile(join(RUNS_DIR, cfg, `${arch}.safetensors`)), 'logits/eval_bn_default_stats');
  const inputName = inputOf.get(arch);
  if (!inputName) throw new Error(`the manifest names no input for ${arch}`);
  const engine = await createEngine(kind, graph, await onnxEmbeddedWeights(bytes), { intraOpNumThreads: 1 });
  try {
    const out = await engine.run({ [graph.inputs[0].name]: hostTensorOf(inputs, inputName) });
    const logits = out[graph.outputs[0].name];
    expect(logits.shape).toEqual(expected.shape);
    expect(maxAbsDiff(logits, expected)).toBeLessThanOrEqual(1e-3);
  } finally {
    engine.dispose();
  }
}

describe.each(['wasm', 'cpu'] as const)('GHN runs on tfjs-%s', (backend) => {
  beforeAll(() => useBackend(backend));
  it.each(runs)('%s/%s', (cfg, arch) => expectRun('tfjs', cfg, arch), 30_000);
});

describe('GHN runs on onnxruntime', () => {
  it.each(runs)('%s/%s', (cfg, arch) => expectRun('onnxruntime', cfg, arch), 30_000);
});
