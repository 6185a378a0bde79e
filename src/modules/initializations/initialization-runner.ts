import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { parseGhnGraphJson } from '../../core/graph/ghn';
import { parseGraphJson } from '../../core/graph/graph-json';
import { initializationMetadata, predictInitialization } from '../../core/init';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { Metrics } from '../../infra/metrics/metrics';
import { runInWorker, workerScript } from '../../infra/workers/run-in-worker';
import type { Architecture } from '../architectures/architecture.types';
import { ArchitecturesService } from '../architectures/architectures.service';
import type { Checkpoint } from '../checkpoints/checkpoint.types';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import type { GhnModel } from '../ghns/ghn.types';
import { GhnsService } from '../ghns/ghns.service';
import { jobReasonFor, orthogonalQrFlops } from './initialization-cost';
import { INITIALIZATION_CHECKPOINT_KIND, isClassicalMethod, type Initialization } from './initialization.types';
import type { InitializationWorkerInput } from './initialization.worker';

const INLINE_WORKER_TIMEOUT_MS = 5 * 60_000;
const JOB_WORKER_TIMEOUT_MS = 2 * 60 * 60_000;

/**
 * Computes initializations and stores them as checkpoints. GHN predictions run on the server's tf
 * backend with the cached, loaded GHN (large ones reach here through the job runner only); the
 * other methods run in a worker thread that streams the tensors into a safetensors file.
 */
@Injectable()
export class InitializationRunner {
  private readonly logger = new Logger(InitializationRunner.name);
  private readonly computedTotal: Counter<'method'>;

  constructor(
    private readonly architectures: ArchitecturesService,
    private readonly ghns: GhnsService,
    private readonly checkpoints: CheckpointsService,
    metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.computedTotal = new Counter({
      name: 'weightsmith_initializations_computed_total',
      help: 'Initializations computed (requests answered from the cache do not count), by method',
      labelNames: ['method'] as const,
      registers: [metrics.registry],
    });
  }

  /** Why this initialization would take too long to compute during the request (its estimate, see initialization-cost), or null. */
  async jobReason(architecture: Architecture, method: Initialization['method'], ghn: GhnModel | null): Promise<string | null> {
    const qrFlops = method === 'orthogonal' ? orthogonalQrFlops(parseGraphJson(await this.architectures.graph(architecture.id))) : 0;
    const work = { method, parameterCount: architecture.summary.parameterCount ?? 0, qrFlops, ghnParameterCount: ghn?.parameterCount ?? 0 };
    return jobReasonFor(work, this.config.jobs.inlineWorkSeconds);
  }

  /**
   * Computes and stores the initialization's checkpoint (not yet linked to the row). With an
   * aborted `signal` (a cancelled job) the work stops and nothing is stored.
   */
  async compute(init: Initialization, inJob: boolean, signal?: AbortSignal): Promise<Checkpoint> {
    const architecture = await this.architectures.get(init.architectureId);
    const started = performance.now();
    const checkpoint = isClassicalMethod(init.method) ? await this.computeClassical(init, architecture, inJob, signal) : await this.computeGhn(init, architecture, signal);
    this.computedTotal.inc({ method: init.method });
    this.logger.log({
      msg: 'initialization computed',
      id: init.id,
      method: init.method,
      architectureId: architecture.id,
      checkpointId: checkpoint.id,
      ms: Math.round(performance.now() - started),
    });
    return checkpoint;
  }

  private async computeGhn(init: Initialization, architecture: Architecture, signal?: AbortSignal): Promise<Checkpoint> {
    const { ghn } = await this.ghns.resolve(init.ghnId ?? undefined);
    const ghnGraph = parseGhnGraphJson(await this.architectures.ghnGraph(architecture.id, ghn.config.graph_builder));
    const graph = architecture.executable ? parseGraphJson(await this.architectures.graph(architecture.id)) : null;
    const prediction = await this.ghns.withGhn(ghn.id, (loaded) => predictInitialization(loaded, ghnGraph, graph, init.options));
    signal?.throwIfAborted();
    const { seed, batchNorm } = init.options;
    return this.checkpoints.storeComputed({
      name: `${architecture.name}-ghn-${ghn.name}-seed${seed}`,
      kind: INITIALIZATION_CHECKPOINT_KIND,
      tensors: prediction.tensors,
      architectureId: architecture.id,
      parentIds: [ghn.checkpointId],
      metadata: {
        ...this.commonMetadata(init),
        ghnId: ghn.id,
        ghnName: ghn.name,
        ghnSha256: ghn.sourceSha256,
        notPredicted: prediction.notPredicted,
        predictedOnly: prediction.predictedOnly,
        ...(prediction.predictedOnly
          ? { note: 'the architecture is known only by its GHN graph: the file holds the predicted parameters only, no buffers and no unpredicted parameters' }
          : {}),
      },
      safetensorsMetadata: initializationMetadata({
        method: 'ghn',
        seed,
        batchNorm,
        ghnSha256: ghn.sourceSha256,
        notPredicted: prediction.notPredicted,
        predictedOnly: prediction.predictedOnly,
      }),
    }, signal);
  }

  /** The worker streams the safetensors bytes straight into the checkpoints module's staged writer: written once. */
  private async computeClassical(init: Initialization, architecture: Architecture, inJob: boolean, signal?: AbortSignal): Promise<Checkpoint> {
    if (!isClassicalMethod(init.method)) throw new Error(`not a classical method: ${init.method}`);
    const graph = await this.architectures.graph(architecture.id);
    const { seed, batchNorm } = init.options;
    const input: InitializationWorkerInput = { graph, method: init.method, seed, metadata: initializationMetadata({ method: init.method, seed, batchNorm }) };
    return this.checkpoints.storeComputedStream(
      {
        name: `${architecture.name}-${init.method}-seed${seed}`,
        kind: INITIALIZATION_CHECKPOINT_KIND,
        architectureId: architecture.id,
        metadata: this.commonMetadata(init),
      },
      (output) => runInWorker(workerScript(__dirname, 'initialization.worker'), input, { timeoutMs: inJob ? JOB_WORKER_TIMEOUT_MS : INLINE_WORKER_TIMEOUT_MS, output, signal }),
      signal,
    );
  }

  private commonMetadata(init: Initialization): Record<string, unknown> {
    return {
      initializationId: init.id,
      method: init.method,
      seed: init.options.seed,
      batchNorm: init.options.batchNorm,
      batchNormStatistics: { runningMean: 0, runningVar: 1, numBatchesTracked: 0, predicted: false },
    };
  }

  /** Removes a checkpoint stored for a row that vanished meanwhile. */
  async discardCheckpoint(id: string): Promise<void> {
    await this.checkpoints.delete(id).catch((e: unknown) => this.logger.warn({ msg: 'could not remove an orphaned initialization checkpoint', checkpointId: id, error: String(e) }));
  }
}
