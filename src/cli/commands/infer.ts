import { performance } from 'node:perf_hooks';
import { CoreError } from '../../core/errors';
import { openCheckpoint } from '../../core/formats/open-checkpoint';
import { readSafetensors, writeSafetensors } from '../../core/formats/safetensors';
import { readAll, type LazyTensor } from '../../core/formats/tensor-set';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { withFileSource } from '../../core/io/random-access';
import { createEngine, hostTensorFromBytes, tensorSetWeights, usedInitializers, type EngineKind, type HostTensor } from '../../core/runtime';
import { UsageError } from '../cli-io';
import { loadArchitectureSource } from './graph';

export const INFER_BACKENDS = ['wasm', 'cpu', 'webgpu'] as const;
export type InferBackend = (typeof INFER_BACKENDS)[number];

export interface InferOptions {
  arch: string;
  weights: string;
  input: string;
  out: string;
  engine?: EngineKind;
  backend?: InferBackend;
}

export interface InferSummary {
  arch: string;
  engine: string;
  inputs: { name: string; dtype: string; shape: number[] }[];
  outputs: { name: string; dtype: string; shape: number[] }[];
  out: string;
  /** Engine creation (weights upload, compilation) and the one run. */
  loadMs: number;
  runMs: number;
}

/** The graph's inputs, read by name from a safetensors file (other tensors in it are ignored). */
async function readInputs(graph: ArchitectureGraph, file: string): Promise<Record<string, HostTensor>> {
  return withFileSource(file, async (source) => {
    const set = await readSafetensors(source);
    const inputs: Record<string, HostTensor> = {};
    for (const info of graph.inputs) {
      const t = set.tensors.find((x) => x.name === info.name);
      if (!t) {
        throw new CoreError('TENSOR_NOT_FOUND', `${file} has no tensor '${info.name}' (the graph's inputs: ${graph.inputs.map((i) => i.name).join(', ')})`);
      }
      inputs[info.name] = hostTensorFromBytes(t.dtype, t.shape, await readAll(t));
    }
    return inputs;
  });
}

async function readWeights(graph: ArchitectureGraph, file: string): ReturnType<typeof tensorSetWeights> {
  const names = new Set(usedInitializers(graph).flatMap((i) => (i.aliasOf !== undefined ? [i.name, i.aliasOf] : [i.name])));
  return withFileSource(file, async (source) => tensorSetWeights(await openCheckpoint(source, { filename: file }), names));
}

function asLazy(name: string, t: HostTensor): LazyTensor {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return {
    name,
    dtype: t.dtype,
    shape: t.shape,
    async *chunks() {
      yield bytes;
    },
  };
}

/**
 * `weightsmith infer`: runs an architecture (zoo:NAME, .onnx, graph JSON) with a checkpoint on the
 * inputs of a safetensors file and writes the outputs, under the graph's output names, to a new
 * safetensors file (atomically). Engine: onnxruntime unless --engine tfjs or a --backend is given.
 */
export async function runInfer(options: InferOptions, resolvePath: (p: string) => string): Promise<InferSummary> {
  const engineKind: EngineKind = options.engine ?? (options.backend ? 'tfjs' : 'onnxruntime');
  if (engineKind === 'onnxruntime' && options.backend) throw new UsageError('--backend applies to the tfjs engine only');
  const loaded = await loadArchitectureSource(options.arch, resolvePath);
  if (loaded.kind !== 'architecture') throw new UsageError(`${options.arch} is a GHN graph: it cannot be executed (give zoo:NAME, an .onnx file or a canonical graph JSON)`);
  const graph = loaded.graph;
  const out = resolvePath(options.out);
  const inputs = await readInputs(graph, resolvePath(options.input));
  const weights = await readWeights(graph, resolvePath(options.weights));
  if (engineKind === 'tfjs') {
    const { selectBackend } = await import('../../infra/tensor-runtime/select-backend');
    await selectBackend(options.backend ?? 'wasm');
  }
  const started = performance.now();
  const engine = await createEngine(engineKind, graph, weights);
  try {
    const loadMs = performance.now() - started;
    const runStarted = performance.now();
    const outputs = await engine.run(inputs);
    const runMs = performance.now() - runStarted;
    const names = graph.outputs.map((o) => o.name);
    await writeSafetensors(out, names.map((n) => asLazy(n, outputs[n])), { engine: engine.name });
    const describe = (name: string, t: HostTensor) => ({ name, dtype: t.dtype, shape: [...t.shape] });
    return {
      arch: options.arch,
      engine: engine.name,
      inputs: graph.inputs.map((i) => describe(i.name, inputs[i.name])),
      outputs: names.map((n) => describe(n, outputs[n])),
      out,
      loadMs: Math.round(loadMs),
      runMs: Math.round(runMs),
    };
  } finally {
    engine.dispose();
  }
}
