import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { CoreError } from '../errors';
import type { ArchitectureGraph } from '../graph/ir';
import type { Dtype } from '../tensor/dtypes';
import type { InferenceEngine } from './engine-types';
import { toFloat32Array, toInt32Array, type HostTensor, type HostTensorData } from './host-tensor';
import { checkInputs } from './inputs';
import { encodeGraphAsOnnx, graphToOnnxWithExternalData, initializerByteLength } from './ir-to-onnx';
import { OrtWorker, type WireTensor } from './ort-worker';
import type { WeightLookup } from './weights';

export interface OrtEngineOptions {
  /** Threads for one op (default 2). */
  intraOpNumThreads?: number;
  /**
   * Weights above this many bytes go to an external data file in a temporary folder (removed once
   * the session holds them): protobuf caps an ONNX model at 2 GiB, and onnxruntime-node loads a large
   * in-memory model slowly (vit_l_16, 1.2 GB: 218 s from memory, 5.4 s from a file). Default 128 MiB.
   */
  maxEmbeddedBytes?: number;
  /** Where that temporary folder is made (default the OS temp folder). */
  tempDir?: string;
}

const DEFAULT_MAX_EMBEDDED_BYTES = 128 * 2 ** 20;

/** Writes the model and its external data file into a fresh folder; returns the model's path. */
async function writeExternalModel(dir: string, graph: ArchitectureGraph, weights: WeightLookup): Promise<string> {
  const { model, chunks } = graphToOnnxWithExternalData(graph, weights, 'weights.bin');
  const out = createWriteStream(join(dir, 'weights.bin'));
  const closed = once(out, 'close');
  for (const { padding, bytes } of chunks) {
    if (padding > 0 && !out.write(new Uint8Array(padding))) await once(out, 'drain');
    if (!out.write(bytes)) await once(out, 'drain');
  }
  out.end();
  await closed;
  const path = join(dir, 'model.onnx');
  await writeFile(path, model);
  return path;
}

/** onnxruntime type name and a typed-array maker (in this realm) per dtype. */
const ORT_TYPES: Partial<Record<Dtype, [string, (n: number) => HostTensorData]>> = {
  F32: ['float32', (n) => new Float32Array(n)],
  F64: ['float64', (n) => new Float64Array(n)],
  F16: ['float16', (n) => new Uint16Array(n)],
  I64: ['int64', (n) => new BigInt64Array(n)],
  I32: ['int32', (n) => new Int32Array(n)],
  I16: ['int16', (n) => new Int16Array(n)],
  I8: ['int8', (n) => new Int8Array(n)],
  U8: ['uint8', (n) => new Uint8Array(n)],
  BOOL: ['bool', (n) => new Uint8Array(n)],
};

const DTYPE_OF_ORT = new Map(Object.entries(ORT_TYPES).map(([dtype, [type]]) => [type, dtype as Dtype]));

/** A host tensor in the dtype the graph input declares (float widths and integer widths convert). */
function toWire(t: HostTensor, dtype: Dtype): WireTensor {
  const type = ORT_TYPES[dtype]?.[0];
  if (!type) throw new CoreError('INVALID_ARGUMENT', `onnxruntime inputs of dtype ${dtype} are not supported`);
  let data: HostTensorData;
  if (t.dtype === dtype) data = t.data;
  else if (dtype === 'F32') data = toFloat32Array(t);
  else if (dtype === 'I64') data = BigInt64Array.from(toInt32Array(t), (v) => BigInt(v));
  else if (dtype === 'I32') data = toInt32Array(t);
  else throw new CoreError('INVALID_ARGUMENT', `input of dtype ${t.dtype} cannot be given to a ${dtype} graph input`);
  return { type, data, dims: [...t.shape] };
}

/** An output as a HostTensor, copied into this realm's typed array. */
function fromWire(t: WireTensor): HostTensor {
  const dtype = DTYPE_OF_ORT.get(t.type);
  const make = dtype && ORT_TYPES[dtype]?.[1];
  if (!dtype || !make) throw new CoreError('INFERENCE_FAILED', `onnxruntime returned an output of unsupported type ${t.type}`);
  const data = make(t.data.length);
  if (dtype === 'BOOL') for (let i = 0; i < data.length; i++) data[i] = t.data[i] ? 1 : 0;
  else (data as { set(a: ArrayLike<number | bigint>): void }).set(t.data);
  return { dtype, shape: [...t.dims], data };
}

/**
 * Runs the graph with onnxruntime-node on the CPU, in a worker thread. The graph is written as an
 * ONNX model with its weights embedded (ir-to-onnx), so zoo graphs and imported ONNX graphs take
 * the same path; past `maxEmbeddedBytes` the weights go to an external data file instead.
 */
export class OrtEngine implements InferenceEngine {
  readonly kind = 'onnxruntime';
  readonly name = 'onnxruntime-cpu';
  private released = false;

  private constructor(
    private readonly graph: ArchitectureGraph,
    private readonly worker: OrtWorker,
  ) {}

  static async create(graph: ArchitectureGraph, weights: WeightLookup, options: OrtEngineOptions = {}): Promise<OrtEngine> {
    const threads = options.intraOpNumThreads ?? 2;
    if (!Number.isInteger(threads) || threads < 1) {
      throw new CoreError('INVALID_ARGUMENT', `intraOpNumThreads must be a positive integer, got ${threads}`);
    }
    const sessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3, // errors only: shape-inference warnings are noise here
    };
    const external = initializerByteLength(graph) > (options.maxEmbeddedBytes ?? DEFAULT_MAX_EMBEDDED_BYTES);
    const worker = new OrtWorker();
    let dir: string | undefined;
    try {
      if (external) {
        dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'weightsmith-ort-'));
        await worker.loadPath(await writeExternalModel(dir, graph, weights), sessionOptions);
      } else {
        await worker.load(encodeGraphAsOnnx(graph, weights), sessionOptions);
      }
    } catch (e) {
      await worker.close();
      throw e;
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
    return new OrtEngine(graph, worker);
  }

  async run(inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    if (this.released) throw new CoreError('INVALID_ARGUMENT', 'the engine has been disposed');
    checkInputs(this.graph, inputs);
    const feeds: Record<string, WireTensor> = {};
    for (const info of this.graph.inputs) feeds[info.name] = toWire(inputs[info.name], info.dtype);
    const results = await this.worker.run(feeds);
    const out: Record<string, HostTensor> = {};
    for (const info of this.graph.outputs) {
      const t = results[info.name];
      if (!t) throw new CoreError('INFERENCE_FAILED', `onnxruntime returned no output '${info.name}'`);
      out[info.name] = fromWire(t);
    }
    return out;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    void this.worker.close();
  }
}
