import { dirname } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CoreError } from '../../core/errors';
import { parseGraphJson } from '../../core/graph/graph-json';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { createEngine, TFJS_SUPPORTED_OPS, type EngineKind, type HostTensor, type InferenceEngine } from '../../core/runtime';
import { numElements } from '../../core/tensor/dtypes';
import type { BlobStore } from '../../core/storage/blob-store.port';
import type { AppConfig, TensorBackendChoice } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { BLOB_STORE } from '../../infra/storage/storage.module';
import { TensorRuntime } from '../../infra/tensor-runtime/tensor-runtime.module';
import { ArchitecturesService } from '../architectures/architectures.service';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import { ServiceError } from '../service-error';
import { BATCHING_DEFAULTS, MODEL_VERSION, type Deployment, type EngineChoice, type NewDeployment } from './deployment.types';
import { DeploymentsRepository } from './deployments.repository';
import { DynamicBatcher } from './dynamic-batcher';
import { InferenceMetrics } from './inference-metrics';
import { signatureOf, type ModelSignature } from './model-signature';
import { TfjsWorkerEngine } from './tfjs-worker-engine';
import { boundNames, MAX_LISTED_MISMATCHES, readWeights, weightMismatches } from './model-weights';

/** A deployment with its engine and request queue. */
export interface LoadedModel {
  deployment: Deployment;
  engine: InferenceEngine;
  batcher: DynamicBatcher;
}

const GPU_BACKENDS = new Set(['webgpu', 'tensorflow']);

function invalidModel(message: string, details?: Record<string, unknown>): ServiceError {
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
 * Loads checkpoints into inference engines under a name. Each model gets its own dynamic-batching
 * queue; the deployments table records them, and every start loads them again (before the server
 * listens). One that no longer loads (its backend gone, say) is dropped with an error in the log.
 */
@Injectable()
export class DeploymentsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeploymentsService.name);
  private readonly models = new Map<string, LoadedModel>();
  private readonly loading = new Set<string>();

  constructor(
    private readonly checkpoints: CheckpointsService,
    private readonly architectures: ArchitecturesService,
    private readonly runtime: TensorRuntime,
    private readonly metrics: InferenceMetrics,
    private readonly records: DeploymentsRepository,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `auto`: the configured default; unset too, tfjs on a GPU backend, else onnxruntime (faster on CPU, see README). */
  resolveEngine(choice: EngineChoice = 'auto'): EngineKind {
    const configured = choice === 'auto' ? this.config.inference.defaultEngine : choice;
    if (configured !== 'auto') return configured;
    return GPU_BACKENDS.has(this.runtime.status().backend ?? '') ? 'tfjs' : 'onnxruntime';
  }

  async create(input: NewDeployment): Promise<Deployment> {
    const { name } = input;
    return this.loadAs(name, async () => {
      const model = await this.load(input);
      const d = model.deployment;
      // Recorded once it runs: a model that fails to load leaves no record, and a crash before this
      // line leaves nothing to load again.
      const record = await this.records
        .create({ name, checkpointId: d.checkpointId, architectureId: d.architectureId, engine: input.engine ?? 'auto', backend: input.backend ?? null, batching: d.batching })
        .catch(async (e: unknown) => {
          await this.unload(model, 'the deployment could not be recorded');
          throw e;
        });
      d.createdAt = record.createdAt;
      return model;
    });
  }

  /** Loads the recorded deployments again (server start). */
  async onApplicationBootstrap(): Promise<void> {
    for (const record of await this.records.list()) {
      const { name, engine, backend, batching } = record;
      try {
        await this.loadAs(name, async () => {
          const model = await this.load({ name, checkpointId: record.checkpointId, architectureId: record.architectureId, engine, ...(backend ? { backend } : {}), ...batching });
          model.deployment.createdAt = record.createdAt;
          return model;
        });
      } catch (e) {
        this.logger.error({ msg: 'a recorded deployment no longer loads: its record is removed', name, error: (e as Error).message });
        await this.records.delete(name);
      }
    }
  }

  /** Runs `load` under the name (refused while the name is taken or loading) and serves its model. */
  private async loadAs(name: string, load: () => Promise<LoadedModel>): Promise<Deployment> {
    if (this.models.has(name) || this.loading.has(name)) {
      throw new ServiceError('DEPLOYMENT_NAME_TAKEN', `a deployment named '${name}' already exists${this.loading.has(name) ? ' (loading)' : ''}`);
    }
    this.loading.add(name);
    try {
      const model = await load();
      this.models.set(name, model);
      this.metrics.queueDepth.set({ model: name }, 0);
      const d = model.deployment;
      this.logger.log({ msg: 'model deployed', name, engine: d.engineName, checkpointId: d.checkpointId, architectureId: d.architectureId, loadMs: d.loadMs });
      return d;
    } finally {
      this.loading.delete(name);
    }
  }

  list(): Deployment[] {
    return [...this.models.values()].map((m) => m.deployment).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Deployment {
    return this.model(name).deployment;
  }

  /** The loaded model; 404 for an unknown name or a version other than the one served. */
  model(name: string, version?: string): LoadedModel {
    const model = this.models.get(name);
    if (!model) throw new ServiceError('DEPLOYMENT_NOT_FOUND', `model '${name}' is not deployed`);
    if (version !== undefined && version !== model.deployment.version) {
      throw new ServiceError('DEPLOYMENT_NOT_FOUND', `model '${name}' has no version '${version}' (versions: ${model.deployment.version})`);
    }
    return model;
  }

  queueDepth(name: string): number {
    return this.models.get(name)?.batcher.depth ?? 0;
  }

  /** Unloads: new requests get 404, waiting ones 503; the running batch finishes, then the engine is freed. */
  async delete(name: string): Promise<void> {
    const model = this.model(name);
    await this.records.delete(name);
    this.models.delete(name);
    await this.unload(model, `model '${name}' was unloaded`);
    this.logger.log({ msg: 'model undeployed', name });
  }

  async onApplicationShutdown(): Promise<void> {
    const all = [...this.models.values()];
    this.models.clear();
    await Promise.all(all.map((m) => this.unload(m, 'the server is shutting down')));
  }

  private async unload(model: LoadedModel, reason: string): Promise<void> {
    await model.batcher.close(reason);
    model.engine.dispose();
    this.metrics.forget(model.deployment.name);
  }

  private async load(input: NewDeployment): Promise<LoadedModel> {
    const checkpoint = await this.checkpoints.get(input.checkpointId);
    const architectureId = input.architectureId ?? checkpoint.architectureId;
    if (!architectureId) {
      throw invalidModel(`checkpoint ${checkpoint.id} names no architecture: pass architectureId`);
    }
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
      throw invalidModel(`checkpoint ${checkpoint.id} does not fit architecture ${architectureId}: ${listed.join('; ')}${more}`, {
        mismatches: listed,
        total: mismatches.length,
      });
    }
    const signature = signatureOf(graph);
    const batching = { ...BATCHING_DEFAULTS, ...definedOnly(input) };
    batching.dynamicBatching = batching.dynamicBatching && signature.batchable;
    const started = performance.now();
    const weights = await readWeights(this.blobs.localPath(checkpoint.sha256), boundNames(graph, checkpoint.manifest));
    const engineOptions = { maxCachedPlans: Math.min(batching.maxBatchSize, 16) + 1 };
    // TF.js computes on the calling thread (wasm, cpu): it gets a worker thread of its own, on the server's backend.
    // onnxruntime writes weights over 128 MiB to a temporary folder: the data directory's, not the OS's
    // (a 2.6 GB model in a small /tmp), where the start-up sweep removes what a crash leaves.
    const created =
      engine === 'tfjs'
        ? TfjsWorkerEngine.create(graph, weights, backend as TensorBackendChoice, engineOptions)
        : createEngine(engine, graph, weights, { ...engineOptions, tempDir: dirname(this.blobs.tempPath()) });
    const instance = await created.catch((e: unknown) => {
      throw e instanceof CoreError && e.code === 'GRAPH_UNKNOWN_OP' ? invalidModel(e.message, e.details) : e;
    });
    const trial = trialInputs(signature);
    if (trial) {
      // One run at load time: a model that cannot run fails here (422), and the first request
      // does not pay for tracing (tfjs) or lazy initialisation (onnxruntime).
      await instance.run(trial).catch((e: unknown) => {
        instance.dispose();
        throw invalidModel(`the model failed a trial run: ${(e as Error).message}`);
      });
    }
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
