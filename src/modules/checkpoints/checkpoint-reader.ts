import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { isCoreError } from '../../core/errors';
import { MAX_PROTOBUF_BYTES } from '../../core/formats/onnx/onnx-codec';
import { readSafetensors, type SafetensorsTensorSet } from '../../core/formats/safetensors';
import { parseGraphJson } from '../../core/graph/graph-json';
import type { RandomAccessSource } from '../../core/io/random-access';
import { encodeGraphAsOnnx } from '../../core/runtime/ir-to-onnx';
import { tensorSetWeights, usedInitializers, type TensorBytes } from '../../core/runtime';
import { ServiceError } from '../../core/service-error';
import { BlobNotFoundError, type BlobStore, type ByteRange } from '../../core/storage/blob-store.port';
import { createStatsAccumulator, type TensorStats } from '../../core/tensor/tensor-stats';
import { BLOB_STORE } from '../../infra/storage/storage.module';
import { ArchitecturesService } from '../architectures/architectures.service';
import { JobsService } from '../jobs/jobs.service';
import { uuidPayload, type Job, type JobContext, type JobQueue } from '../jobs/job.types';
import type { Checkpoint, ManifestEntry } from './checkpoint.types';
import { CheckpointsService } from './checkpoints.service';

export const STATISTICS_JOB = 'checkpoint.statistics';

export interface StatisticsJobPayload {
  checkpointId: string;
}

export interface StatisticsJobResult {
  checkpointId: string;
  sha256: string;
  tensors: Record<string, TensorStats & { dtype: string; shape: number[] }>;
}

/**
 * Reads stored weights for every feature: byte streams (downloads), tensors by random access
 * (GHN loading, deployments, exports), statistics. The only way to the blob store's bytes besides
 * CheckpointsService, so that no module opens blob files itself, whatever the store.
 */
@Injectable()
export class CheckpointReader implements OnModuleInit {
  private statistics!: JobQueue<StatisticsJobPayload, StatisticsJobResult>;

  constructor(
    private readonly checkpoints: CheckpointsService,
    private readonly architectures: ArchitecturesService,
    private readonly jobs: JobsService,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  onModuleInit(): void {
    this.statistics = this.jobs.define<StatisticsJobPayload, StatisticsJobResult>({
      type: STATISTICS_JOB,
      parsePayload: uuidPayload(STATISTICS_JOB, ['checkpointId']),
      checkpointOf: (p) => p.checkpointId,
      run: (p, ctx) => this.runStatistics(p, ctx),
    });
  }

  /** The stored safetensors bytes, or one range of them. */
  openWeights(checkpoint: Checkpoint, range: ByteRange | null): Promise<Readable> {
    return this.blobs.read(checkpoint.sha256, range ?? undefined).catch((e: unknown) => {
      throw missingBytes(e, checkpoint);
    });
  }

  /** Runs `fn` on the checkpoint's tensors (read lazily by random access), closing the source after. */
  async openTensors<T>(checkpoint: Checkpoint, fn: (tensors: SafetensorsTensorSet) => Promise<T>): Promise<T> {
    const source = await this.blobs.openRandomAccess(checkpoint.sha256).catch((e: unknown) => {
      throw missingBytes(e, checkpoint);
    });
    try {
      // Validated when it was stored: no header limit.
      return await fn(await readSafetensors(source, { maxHeaderBytes: Number.MAX_SAFE_INTEGER }));
    } finally {
      await source.close();
    }
  }

  /** Runs `fn` with a random-access source over each checkpoint's stored bytes (e.g. soup ingredients), closing them all after. */
  async withSources<T>(checkpoints: readonly Checkpoint[], fn: (sources: RandomAccessSource[]) => Promise<T>): Promise<T> {
    const sources: RandomAccessSource[] = [];
    try {
      for (const checkpoint of checkpoints) {
        sources.push(
          await this.blobs.openRandomAccess(checkpoint.sha256).catch((e: unknown) => {
            throw missingBytes(e, checkpoint);
          }),
        );
      }
      return await fn(sources);
    } finally {
      for (const source of sources) await source.close().catch(() => undefined);
    }
  }

  /** The named tensors (all when `names` is omitted) in memory. */
  readTensors(checkpoint: Checkpoint, names?: ReadonlySet<string>): Promise<Map<string, TensorBytes>> {
    return this.openTensors(checkpoint, (set) => tensorSetWeights(set, names));
  }

  /**
   * The checkpoint as an ONNX model: its architecture's graph with these weights embedded (bound by
   * state_dict name). 409 CHECKPOINT_NOT_EXPORTABLE without an architecture or past protobuf's
   * 2 GiB, 409 ARCHITECTURE_NOT_EXECUTABLE for a GHN-graph-only one, 422
   * CHECKPOINT_ARCHITECTURE_MISMATCH when the weights do not fit the graph.
   */
  async exportOnnx(checkpoint: Checkpoint): Promise<Uint8Array> {
    if (!checkpoint.architectureId) {
      throw new ServiceError('CHECKPOINT_NOT_EXPORTABLE', `checkpoint ${checkpoint.id} has no architecture, so there is no graph to export as ONNX; download it as safetensors`, {
        reason: 'no-architecture',
      });
    }
    const graph = parseGraphJson(await this.architectures.graph(checkpoint.architectureId));
    const names = new Set(usedInitializers(graph).flatMap((i) => (i.aliasOf ? [i.name, i.aliasOf] : [i.name])));
    const bytes = checkpoint.manifest.filter((t) => names.has(t.name)).reduce((n, t) => n + t.byteLength, 0);
    if (bytes > MAX_PROTOBUF_BYTES - 64 * 1024 * 1024) {
      throw new ServiceError('CHECKPOINT_NOT_EXPORTABLE', `the weights take ${bytes} bytes: an ONNX file with embedded weights is limited to 2 GiB`, { reason: 'too-large', bytes });
    }
    const weights = await this.readTensors(checkpoint, names);
    try {
      return encodeGraphAsOnnx(graph, weights);
    } catch (e) {
      if (isCoreError(e) && (e.code === 'TENSOR_NOT_FOUND' || e.code === 'INVALID_ARGUMENT')) {
        throw new ServiceError('CHECKPOINT_ARCHITECTURE_MISMATCH', `checkpoint ${checkpoint.id} does not fit architecture ${checkpoint.architectureId}: ${e.message}`, {
          architectureId: checkpoint.architectureId,
          ...e.details,
        });
      }
      throw e;
    }
  }

  tensorEntry(checkpoint: Checkpoint, name: string): ManifestEntry {
    const entry = checkpoint.manifest.find((t) => t.name === name);
    if (!entry) throw new ServiceError('TENSOR_NOT_FOUND', `checkpoint ${checkpoint.id} has no tensor named ${JSON.stringify(name)}`, { tensor: name });
    return entry;
  }

  /** Statistics of one tensor, streamed from the blob in chunks (yielding between them). */
  async tensorStatistics(checkpoint: Checkpoint, entry: ManifestEntry, signal?: AbortSignal): Promise<TensorStats> {
    const acc = createStatsAccumulator(entry.dtype);
    if (entry.byteLength > 0) {
      const stream = await this.openWeights(checkpoint, { start: entry.byteOffset, end: entry.byteOffset + entry.byteLength - 1 });
      for await (const chunk of stream) {
        if (signal?.aborted) {
          stream.destroy();
          signal.throwIfAborted();
        }
        acc.push(chunk as Buffer);
      }
    }
    return acc.result();
  }

  async startStatisticsJob(id: string): Promise<Job<StatisticsJobPayload, StatisticsJobResult>> {
    const checkpoint = await this.checkpoints.get(id);
    return this.statistics.enqueue({ checkpointId: checkpoint.id });
  }

  private async runStatistics(payload: StatisticsJobPayload, ctx: JobContext): Promise<StatisticsJobResult> {
    const checkpoint = await this.checkpoints.get(payload.checkpointId);
    const total = checkpoint.manifest.reduce((n, t) => n + t.byteLength, 0) || 1;
    let done = 0;
    const tensors: StatisticsJobResult['tensors'] = {};
    for (const entry of checkpoint.manifest) {
      tensors[entry.name] = { dtype: entry.dtype, shape: entry.shape, ...(await this.tensorStatistics(checkpoint, entry, ctx.signal)) };
      done += entry.byteLength;
      await ctx.progress(done / total);
    }
    return { checkpointId: checkpoint.id, sha256: checkpoint.sha256, tensors };
  }
}

/** A recorded checkpoint whose bytes the store lacks: the store was emptied or changed under the database. */
function missingBytes(e: unknown, checkpoint: Checkpoint): unknown {
  if (!(e instanceof BlobNotFoundError)) return e;
  return new ServiceError('INTERNAL', `the bytes of checkpoint ${checkpoint.id} (sha256 ${checkpoint.sha256}) are missing from the blob store`);
}
