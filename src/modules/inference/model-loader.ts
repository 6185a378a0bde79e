import { Inject, Injectable } from '@nestjs/common';
import { CoreError } from '../../core/errors';
import { parseGraphJson } from '../../core/graph/graph-json';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { createEngine, TFJS_SUPPORTED_OPS, type EngineKind, type HostTensor, type InferenceEngine } from '../../core/runtime';
import { ServiceError } from '../../core/service-error';
import { numElements } from '../../core/tensor/dtypes';
import type { AppConfig, TensorBackendChoice } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { ScratchSpace } from '../../infra/scratch/scratch-space';
import { TensorRuntime } from '../../infra/tensor-runtime/tensor-runtime.module';
import { ArchitecturesService } from '../architectures/architectures.service';
import { CheckpointReader } from '../checkpoints/checkpoint-reader';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import { BATCHING_DEFAULTS, MODEL_VERSION, type Deployment, type EngineChoice, type NewDeployment } from './deployment.types';
import { DynamicBatcher } from './dynamic-batcher';
import { InferenceMetrics } from './inference-metrics';
import { signatureOf, type ModelSignature } from './model-signature';
import { boundNames, MAX_LISTED_MISMATCHES, weightMismatches } from './model-weights';
import { TfjsWorkerEngine } from './tfjs-worker-engine';

/** A deployment with its engine and request queue. */
export interface LoadedModel {
  deployment: Deployment;
  engine: InferenceEngine;
  batcher: DynamicBatcher;
}

const GPU_BACKENDS = new Set(['webgpu', 'tensorflow']);

export function invalidModel(message: string, details?: Record<string, unknown>): ServiceError {
  return new ServiceError('DEPLOYMENT_INVALID', message, details);
}

/** Zero inputs of batch 1 when every other dim is fixed (else null: no trial run). */
function trialInputs(signature: ModelSignature): Record<string, HostTensor> | null {
  const inputs: Record<string, HostTensor> = {};
  for (const spec of signature.inputs) {
    const shape = spec.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 && signature.batchable ? 1 : NaN));
    if (shape.some(Number.isNaN) || spec.dtype !== 'F32') return null;
    inputs[spec.name] = { dtype: 'F32', shape, data: new Float32Array(numElements(shape)) };
  }
  return inputs;
}

/**
 * Turns a deployment request into a running model: checks that the weights fit the graph and the
 * engine can run it, reads the bound tensors through the checkpoints module, builds the engine
 * (onnxruntime, or TF.js in a worker thread), runs it once on zeros, and puts a dynamic-batching
 * queue in front of it.
 */
@Injectable()
export class ModelLoader {
  constructor(
    private readonly checkpoints: CheckpointsService,
    private readonly reader: CheckpointReader,
    private readonly architectures: ArchitecturesService,
    private readonly runtime: TensorRuntime,
    private readonly metrics: InferenceMetrics,
    private readonly scratch: ScratchSpace,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `auto`: the configured default; unset too, tfjs on a GPU backend, else onnxruntime (faster on CPU, see README). */
  resolveEngine(choice: EngineChoice = 'auto'): EngineKind {
    const configured = choice === 'auto' ? this.config.inference.defaultEngine : choice;
    if (configured !== 'auto') return configured;
    return GPU_BACKENDS.has(this.runtime.status().backend ?? '') ? 'tfjs' : 'onnxruntime';
  }

  async load(input: NewDeployment): Promise<LoadedModel> {
    const checkpoint = await this.checkpoints.get(input.checkpointId);
    const architectureId = input.architectureId ?? checkpoint.architectureId;
    if (!architectureId) throw invalidModel(`checkpoint ${checkpoint.id} names no architecture: pass architectureId`);
    const graph = await this.executableGraph(architectureId);
    const engine = this.resolveEngine(input.engine);
    const backend = this.checkBackend(engine, input.backend);
    if (engine === 'tfjs') {
      const unsupported = [...new Set(graph.nodes.map((n) => n.opType).filter((op) => !TFJS_SUPPORTED_OPS.has(op)))];
      if (unsupported.length) throw invalidModel(`the tfjs engine does not support ${unsupported.join(', ')}`, { ops: unsupported });
    }
    const mismatches = weightMismatches(graph, checkpoint.manifest);
    if (mismatches.length) {
      const listed = mismatches.slice(0, MAX_LISTED_MISMATCHES);
      const more = mismatches.length > listed.length ? `; and ${mismatches.length - listed.length} more` : '';
      throw invalidModel(`checkpoint ${checkpoint.id} does not fit architecture ${architectureId}: ${listed.join('; ')}${more}`, { mismatches: listed, total: mismatches.length });
    }
    const signature = signatureOf(graph);
    const batching = { ...BATCHING_DEFAULTS, ...definedOnly(input) };
    batching.dynamicBatching = batching.dynamicBatching && signature.batchable;
    const started = performance.now();
    const weights = await this.reader.readTensors(checkpoint, boundNames(graph, checkpoint.manifest));
    const engineOptions = { maxCachedPlans: Math.min(batching.maxBatchSize, 16) + 1 };
    // TF.js computes on the calling thread (wasm, cpu): it gets a worker thread of its own, on the server's backend.
    // onnxruntime writes weights over 128 MiB to a temporary folder: the scratch space (swept at start), not the OS's /tmp.
    const created =
      engine === 'tfjs'
        ? TfjsWorkerEngine.create(graph, weights, backend as TensorBackendChoice, engineOptions)
        : createEngine(engine, graph, weights, { ...engineOptions, tempDir: this.scratch.dir });
    const instance = await created.catch((e: unknown) => {
      throw e instanceof CoreError && e.code === 'GRAPH_UNKNOWN_OP' ? invalidModel(e.message, e.details) : e;
    });
    // One run at load time: a model that cannot run fails here (422), and the first request
    // does not pay for tracing (tfjs) or lazy initialisation (onnxruntime). Inputs too large to
    // allocate fail the same way.
    await Promise.resolve()
      .then(() => {
        const trial = trialInputs(signature);
        return trial ? instance.run(trial) : undefined;
      })
      .catch((e: unknown) => {
        instance.dispose();
        throw invalidModel(`the model failed a trial run: ${(e as Error).message}`);
      });
    const name = input.name;
    const batcher = new DynamicBatcher({
      maxBatchSize: batching.maxBatchSize,
      maxQueueDelayMs: batching.maxQueueDelayMs,
      maxQueueSize: batching.maxQueueSize,
      batching: batching.dynamicBatching,
      run: (inputs) => instance.run(inputs),
      onBatch: (rows) => this.metrics.batchSize.observe({ model: name }, rows),
      onQueueDepth: (depth) => this.metrics.queueDepth.set({ model: name }, depth),
    });
    const deployment: Deployment = {
      name,
      version: MODEL_VERSION,
      checkpointId: checkpoint.id,
      architectureId,
      engine,
      engineName: instance.name,
      backend,
      batching,
      signature,
      loadMs: Math.round(performance.now() - started),
      createdAt: new Date(),
    };
    return { deployment, engine: instance, batcher };
  }

  /** Waiting requests get 503, the running batch finishes, then the engine is freed. */
  async unload(model: LoadedModel, reason: string): Promise<void> {
    await model.batcher.close(reason);
    model.engine.dispose();
    this.metrics.forget(model.deployment.name);
  }

  private async executableGraph(architectureId: string): Promise<ArchitectureGraph> {
    try {
      return parseGraphJson(await this.architectures.graph(architectureId));
    } catch (e) {
      if (e instanceof ServiceError && e.code === 'ARCHITECTURE_NOT_EXECUTABLE') throw invalidModel(e.message, e.details);
      throw e;
    }
  }

  /** tfjs runs on the backend chosen at start (WEIGHTSMITH_BACKEND); onnxruntime on the CPU. */
  private checkBackend(engine: EngineKind, requested: string | undefined): string {
    const active = engine === 'tfjs' ? (this.runtime.status().backend ?? 'none') : 'cpu';
    if (requested !== undefined && requested !== active) {
      const how = engine === 'tfjs' ? 'its backend is chosen at start (WEIGHTSMITH_BACKEND)' : 'it runs on the CPU only';
      throw invalidModel(`backend '${requested}' is not available to the ${engine} engine: ${how}, and is '${active}'`);
    }
    return active;
  }
}

/** The batching settings the request gave (undefined fields keep the defaults). */
function definedOnly(input: NewDeployment): Partial<typeof BATCHING_DEFAULTS> {
  const out: Partial<typeof BATCHING_DEFAULTS> = {};
  if (input.maxBatchSize !== undefined) out.maxBatchSize = input.maxBatchSize;
  if (input.maxQueueDelayMs !== undefined) out.maxQueueDelayMs = input.maxQueueDelayMs;
  if (input.maxQueueSize !== undefined) out.maxQueueSize = input.maxQueueSize;
  if (input.dynamicBatching !== undefined) out.dynamicBatching = input.dynamicBatching;
  return out;
}
