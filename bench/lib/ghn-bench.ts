import * as tf from '@tensorflow/tfjs-core';
import { Ghn, parseGhnConfig, predictParameters } from '../../src/core/ghn';
import { assembleGhnWeights, ghnKeySpecs } from '../../src/core/ghn/ghn-weights';
import { buildGhnGraph } from '../../src/core/graph/ghn';
import { buildZooModel } from '../../src/core/graph/zoo';
import { predictInitialization } from '../../src/core/init';
import { readFloat32Tensors } from '../../src/core/tensor/read-tensors';
import { round } from './proc-memory';

/** The architectures the GHN issue times, and the GHN sizes of the released checkpoints. */
export const GHN_BENCH_MODELS = ['resnet18', 'resnet50', 'convnext_tiny', 'vit_b_16'] as const;
export type GhnBenchModel = (typeof GHN_BENCH_MODELS)[number];

export const GHN_SIZES = {
  ghn3tm8: { hid: 64, layers: 3, heads: 8, max_shape: [64, 64, 16, 16] },
  ghn3xlm16: { hid: 384, layers: 24, heads: 16, max_shape: [384, 384, 16, 16] },
} as const;
export type GhnSizeName = keyof typeof GHN_SIZES;

/**
 * The official ghn3 code on PyTorch CPU (2 threads), warm, measured on this machine kind in one
 * quiet session on 2026-12-07 (PyTorch does not install on the project machines, so it cannot run
 * beside the bench). Machines of the kind differ by up to 2x: read ratios with that in mind.
 */
export const OFFICIAL_CPU_SECONDS: Record<GhnSizeName, Record<GhnBenchModel, number>> = {
  ghn3tm8: { resnet18: 0.054, resnet50: 0.076, convnext_tiny: 0.107, vit_b_16: 0.133 },
  ghn3xlm16: { resnet18: 4.7, resnet50: 6.0, convnext_tiny: 9.0, vit_b_16: 4.9 },
};
/** The official ghn3 code on an H100 (PyTorch, CUDA). */
export const OFFICIAL_H100_SECONDS: Record<GhnSizeName, Partial<Record<GhnBenchModel, number>>> = {
  ghn3tm8: { resnet50: 0.022 },
  ghn3xlm16: { resnet50: 0.041 },
};

export const seconds = (start: number): number => (performance.now() - start) / 1000;
export const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];

/**
 * Deterministic pseudo-random values, uniform with std 0.02, filled in JavaScript by an LCG (a few
 * ns per value; tf.randomNormal's Box–Muller takes tens of seconds for ghn3xlm16's 650M values) and
 * uploaded once, so the backend holds no intermediate copies. Prediction time does not depend on the values.
 */
function pseudoRandom(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  const scale = (0.02 * Math.sqrt(3) * 2) / 2 ** 32;
  let state = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state * scale - 0.02 * Math.sqrt(3);
  }
  return tf.tensor(values, shape, 'float32');
}

/** A GHN of a released size with pseudo-random weights, built tensor by tensor on the active backend. */
export function randomGhn(size: GhnSizeName): Ghn {
  const config = parseGhnConfig({ ...GHN_SIZES[size], num_classes: 1000, is_ghn2: false, weight_norm: true, ve: true, layernorm: true });
  const prepared = new Map<string, tf.Tensor>();
  let seed = 1;
  for (const [key, spec] of ghnKeySpecs(config)) {
    const shape = spec.transposed ? [spec.shape[1], spec.shape[0]] : spec.shape;
    prepared.set(key, pseudoRandom([...shape], seed++));
  }
  return new Ghn(config, assembleGhnWeights(prepared, config));
}

export interface GhnBenchOptions {
  /** Warm re-runs per model after the cold one; 0 times the cold prediction only. */
  runs: number;
  /** The official figures the ratios are taken against. */
  official: Record<GhnBenchModel, number | undefined>;
  /** Stop starting new models after this time (epoch ms). */
  deadline?: number;
}

/**
 * Times GHN prediction of one GHN size on the active backend for every bench model: graph build,
 * `cold` (first prediction: kernels warm up), `warm` (median of re-runs) and `fill` (the whole
 * initialization, read out). Values are read back to the host, so the time includes the transfer.
 */
export async function benchGhnSize(size: GhnSizeName, options: GhnBenchOptions): Promise<Record<string, unknown>> {
  const loadStart = performance.now();
  const ghn = randomGhn(size);
  const loadSeconds = seconds(loadStart);
  const models: Record<string, unknown> = {};
  for (const model of GHN_BENCH_MODELS) {
    if (options.deadline !== undefined && Date.now() > options.deadline) {
      models[model] = { skipped: 'past the deadline' };
      continue;
    }
    try {
      const graph = buildZooModel(model);
      const graphStart = performance.now();
      const ghnGraph = buildGhnGraph(graph, { builder: 'ghn3' });
      const graphSeconds = seconds(graphStart);
      const paramShapes = new Map(graph.initializers.filter((i) => i.isParameter).map((i) => [i.name, i.shape]));
      const predictOnce = async (): Promise<number> => {
        const start = performance.now();
        const { params } = predictParameters(ghn, ghnGraph, { paramShapes, seed: 0 });
        dispatch.push(seconds(start)); // ops issued (on a GPU they run asynchronously)
        await readFloat32Tensors([...params.values()]); // the values are usable only once read back
        tf.dispose([...params.values()]);
        return seconds(start);
      };
      const dispatch: number[] = [];
      const cold = await predictOnce();
      const official = options.official[model];
      const ratio = (s: number): number | null => (official ? round(s / official, 2) : null);
      const entry: Record<string, unknown> = {
        ghnNodes: ghnGraph.nodes.length,
        graphSeconds: round(graphSeconds, 3),
        coldSeconds: round(cold, 3),
        officialSeconds: official ?? null,
        coldRatio: ratio(cold),
      };
      if (options.runs > 0) {
        const warm: number[] = [];
        for (let i = 0; i < options.runs; i++) warm.push(await predictOnce());
        const fillStart = performance.now();
        const init = await predictInitialization(ghn, ghnGraph, graph, { seed: 0 });
        let filledBytes = 0;
        for (const t of init.tensors) for await (const c of t.chunks()) filledBytes += c.byteLength;
        const warmSeconds = median(warm);
        Object.assign(entry, {
          warmSeconds: round(warmSeconds, 3),
          warmRatio: ratio(warmSeconds),
          warmDispatchSeconds: round(median(dispatch.slice(1)), 3),
          fillSeconds: round(seconds(fillStart), 3),
          predicted: init.predicted.length,
          filledMB: round(filledBytes / 1e6, 1),
        });
      }
      models[model] = entry;
    } catch (e) {
      models[model] = { error: (e as Error).message.slice(0, 300) };
    }
  }
  const memory = tf.memory();
  const numParameters = ghn.numParameters;
  try {
    ghn.dispose();
  } catch {
    // A wasm heap that overflowed cannot free anything any more; the process ends soon anyway.
  }
  return {
    backend: tf.getBackend(),
    ghnParameters: numParameters,
    ghnMB: round((numParameters * 4) / 1e6, 1),
    loadSeconds: round(loadSeconds, 2),
    tfBytesAtEnd: memory.numBytes,
    runs: options.runs,
    models,
  };
}
