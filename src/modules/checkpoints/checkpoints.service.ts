import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { createStatsAccumulator, type TensorStats } from '../../core/tensor/tensor-stats';
import type { BlobStore, ByteRange, StagedBlob } from '../../core/storage/blob-store.port';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { Metrics } from '../../infra/metrics/metrics';
import { BLOB_STORE } from '../../infra/storage/storage.module';
import type { Cursor } from '../../http/pagination';
import { receiveMultipart } from '../../http/multipart-upload';
import { JobsService } from '../jobs/jobs.service';
import type { Job, JobContext } from '../jobs/job.types';
import { ServiceError } from '../service-error';
import type { Checkpoint, CheckpointFilter, ManifestEntry } from './checkpoint.types';
import { ingestUpload } from './checkpoint-ingest';
import { parseUploadFields } from './checkpoint-fields';
import { CheckpointsRepository } from './checkpoints.repository';

export const STATISTICS_JOB = 'checkpoint.statistics';

@Injectable()
export class CheckpointsService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(CheckpointsService.name);

  constructor(
    private readonly repository: CheckpointsRepository,
    private readonly jobs: JobsService,
    private readonly metrics: Metrics,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.jobs.register(STATISTICS_JOB, (ctx) => this.runStatisticsJob(ctx));
  }

  /** Bytes published under a real name but never recorded (crash between the two) are removed. */
  async onApplicationBootstrap(): Promise<void> {
    let removed = 0;
    for await (const sha of this.blobs.list()) {
      if (await this.repository.removeIfUnrecorded(sha, (s) => this.blobs.delete(s))) removed++;
    }
    if (removed > 0) this.logger.warn({ msg: 'removed unrecorded blobs', removed });
  }

  /** Streams a multipart upload into the blob store, validates it, and records the checkpoint. */
  async upload(req: Request): Promise<Checkpoint> {
    const { fields, file } = await receiveMultipart<StagedBlob>(req, {
      fileField: 'file',
      maxFieldBytes: 256 * 1024,
      maxFields: 20,
      consume: (stream) => this.blobs.stage(stream as Readable, { maxBytes: this.config.limits.maxUploadBytes }),
      release: (staged) => this.blobs.discard(staged),
    });
    if (!file) throw new ServiceError('FILE_MISSING', 'no file: send the checkpoint bytes in the multipart field `file`');
    const cleanup = new Set<StagedBlob>([file.stored]);
    try {
      this.metrics.uploadedBytes.inc(file.stored.size);
      if (file.stored.size === 0) throw new ServiceError('FILE_EMPTY', 'the uploaded file is empty');
      const input = parseUploadFields(fields, file.filename);
      if (input.architectureId && !(await this.repository.architectureExists(input.architectureId))) {
        throw new ServiceError('ARCHITECTURE_NOT_FOUND', `architecture ${input.architectureId} does not exist`, { field: 'architectureId' });
      }
      if (input.parentIds.length > 0) {
        const missing = await this.repository.missingCheckpoints(input.parentIds);
        if (missing.length) throw new ServiceError('CHECKPOINT_NOT_FOUND', `parent checkpoint(s) ${missing.join(', ')} do not exist`, { field: 'parentIds', missing });
      }
      const ingested = await ingestUpload(file.stored, file.filename, this.blobs, { maxHeaderBytes: this.config.limits.maxHeaderBytes });
      cleanup.add(ingested.staged);
      const checkpoint = await this.repository.create(
        {
          ...input,
          kind: 'uploaded',
          originalFormat: ingested.originalFormat,
          sha256: ingested.staged.sha256,
          sizeBytes: ingested.staged.size,
          manifest: ingested.manifest,
          metadata: { ...ingested.metadata, ...(file.filename ? { sourceFilename: file.filename } : {}) },
        },
        async () => {
          await this.blobs.commit(ingested.staged);
          cleanup.delete(ingested.staged);
        },
      );
      this.logger.log({ msg: 'checkpoint stored', id: checkpoint.id, sha256: checkpoint.sha256, bytes: checkpoint.sizeBytes, tensors: checkpoint.tensorCount });
      return checkpoint;
    } finally {
      for (const staged of cleanup) await this.blobs.discard(staged).catch(() => undefined);
    }
  }

  async get(id: string): Promise<Checkpoint> {
    const checkpoint = await this.repository.find(id);
    if (!checkpoint) throw new ServiceError('CHECKPOINT_NOT_FOUND', `checkpoint ${id} does not exist`);
    return checkpoint;
  }

  list(filter: CheckpointFilter, limit: number, cursor?: Cursor): Promise<Checkpoint[]> {
    return this.repository.list(filter, limit, cursor);
  }

  async delete(id: string): Promise<void> {
    const { removedBlob } = await this.repository.delete(id, (sha) => this.blobs.delete(sha));
    this.logger.log({ msg: 'checkpoint deleted', id, removedBlob });
  }

  /** Parses a Range header against the blob size: null for the whole file. */
  resolveRange(header: string | undefined, size: number): ByteRange | null {
    if (!header) return null;
    const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
    if (!m || (m[1] === '' && m[2] === '')) {
      throw new ServiceError('RANGE_NOT_SATISFIABLE', `unsupported Range header ${JSON.stringify(header)}: use a single bytes=start-end range`, { size });
    }
    let start: number;
    let end: number;
    if (m[1] === '') {
      const suffix = Number(m[2]);
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start > end || start >= size) throw new ServiceError('RANGE_NOT_SATISFIABLE', `range ${header} is outside the ${size}-byte file`, { size });
    return { start, end };
  }

  openWeights(checkpoint: Checkpoint, range: ByteRange | null): Readable {
    return this.blobs.read(checkpoint.sha256, range ?? undefined);
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
      const stream = this.blobs.read(checkpoint.sha256, { start: entry.byteOffset, end: entry.byteOffset + entry.byteLength - 1 });
      for await (const chunk of stream) {
        if (signal?.aborted) {
          stream.destroy();
          break;
        }
        acc.push(chunk as Buffer);
      }
    }
    return acc.result();
  }

  async startStatisticsJob(id: string): Promise<Job> {
    const checkpoint = await this.get(id);
    return this.jobs.enqueue(STATISTICS_JOB, { checkpointId: checkpoint.id }, { checkpointId: checkpoint.id });
  }

  private async runStatisticsJob(ctx: JobContext): Promise<unknown> {
    const checkpoint = await this.get(String(ctx.job.payload.checkpointId));
    const total = checkpoint.manifest.reduce((n, t) => n + t.byteLength, 0) || 1;
    let done = 0;
    const tensors: Record<string, TensorStats & { dtype: string; shape: number[] }> = {};
    for (const entry of checkpoint.manifest) {
      tensors[entry.name] = { dtype: entry.dtype, shape: entry.shape, ...(await this.tensorStatistics(checkpoint, entry, ctx.signal)) };
      done += entry.byteLength;
      await ctx.progress(done / total);
    }
    return { checkpointId: checkpoint.id, sha256: checkpoint.sha256, tensors };
  }
}

