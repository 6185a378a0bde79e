import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { writeTensorSetAsSafetensors } from '../../core/formats/open-checkpoint';
import { isCoreError } from '../../core/errors';
import { MAX_PROTOBUF_BYTES } from '../../core/formats/onnx/onnx-codec';
import { readSafetensors, readSafetensorsHeader } from '../../core/formats/safetensors';
import { parseGraphJson } from '../../core/graph/graph-json';
import { encodeGraphAsOnnx } from '../../core/runtime/ir-to-onnx';
import { tensorSetWeights, usedInitializers } from '../../core/runtime/weights';
import { withFileSource } from '../../core/io/random-access';
import { createStatsAccumulator, type TensorStats } from '../../core/tensor/tensor-stats';
import type { BlobStore, ByteRange, StagedBlob } from '../../core/storage/blob-store.port';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { Metrics } from '../../infra/metrics/metrics';
import { BLOB_STORE } from '../../infra/storage/storage.module';
import type { Cursor } from '../../http/pagination';
import { receiveMultipart } from '../../http/multipart-upload';
import { ArchitecturesService } from '../architectures/architectures.service';
import { JobsService } from '../jobs/jobs.service';
import type { Job, JobContext } from '../jobs/job.types';
import { ServiceError } from '../service-error';
import type { Checkpoint, CheckpointFilter, ComputedCheckpoint, ManifestEntry, NewCheckpoint } from './checkpoint.types';
import { ingestUpload, type IngestedCheckpoint } from './checkpoint-ingest';
import { parseUploadFields } from './checkpoint-fields';
import { CheckpointsRepository } from './checkpoints.repository';

export const STATISTICS_JOB = 'checkpoint.statistics';

/** What `prepare` learns about the upload itself. */
export interface UploadContext {
  /** The checkpoint's name: the `name` field, else the file name without its extension. */
  name: string;
  /** sha256 of the bytes as uploaded, before any conversion to safetensors. */
  sourceSha256: string;
}

export interface UploadOptions<T> {
  /** Checkpoint kind to record (default `uploaded`). */
  kind?: string;
  /** Extra multipart text fields accepted by the caller, passed to `prepare`. */
  extraFields?: readonly string[];
  /** Runs on the validated, converted upload before anything is stored; throwing refuses it. */
  prepare?: (ingested: IngestedCheckpoint, extraFields: Record<string, string>, upload: UploadContext) => Promise<T>;
}

@Injectable()
export class CheckpointsService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(CheckpointsService.name);

  constructor(
    private readonly repository: CheckpointsRepository,
    private readonly jobs: JobsService,
    private readonly metrics: Metrics,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly architectures: ArchitecturesService,
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

  /**
   * Streams a multipart upload into the blob store, validates (and converts) it, and records the
   * checkpoint. `options.prepare` lets another module check the converted tensors and its own
   * extra fields before anything is stored (a refusal stores nothing).
   */
  async upload<T = undefined>(req: Request, options: UploadOptions<T> = {}): Promise<{ checkpoint: Checkpoint; prepared: T | undefined }> {
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
      const extra: Record<string, string> = {};
      for (const name of options.extraFields ?? []) {
        if (name in fields) {
          extra[name] = fields[name];
          delete fields[name];
        }
      }
      const input = parseUploadFields(fields, file.filename);
      await this.checkReferences(input.architectureId, input.parentIds);
      const ingested = await ingestUpload(file.stored, file.filename, this.blobs, { maxHeaderBytes: this.config.limits.maxHeaderBytes });
      cleanup.add(ingested.staged);
      const prepared = options.prepare ? await options.prepare(ingested, extra, { name: input.name, sourceSha256: file.stored.sha256 }) : undefined;
      const checkpoint = await this.record(
        {
          ...input,
          kind: options.kind ?? 'uploaded',
          originalFormat: ingested.originalFormat,
          sha256: ingested.staged.sha256,
          sizeBytes: ingested.staged.size,
          manifest: ingested.manifest,
          metadata: { ...ingested.metadata, ...(file.filename ? { sourceFilename: file.filename } : {}) },
        },
        ingested.staged,
        cleanup,
      );
      return { checkpoint, prepared };
    } finally {
      for (const staged of cleanup) await this.blobs.discard(staged).catch(() => undefined);
    }
  }

  /**
   * Stores tensors computed by the service (initializations, soups, ...) as a new checkpoint:
   * streamed to a temporary safetensors file, then published and recorded like an upload.
   */
  async storeComputed(input: ComputedCheckpoint): Promise<Checkpoint> {
    await this.checkReferences(input.architectureId ?? null, input.parentIds ?? []);
    const target = this.blobs.tempPath('.safetensors');
    const cleanup = new Set<StagedBlob>();
    try {
      const written = await writeTensorSetAsSafetensors({ format: 'safetensors', tensors: input.tensors, metadata: input.safetensorsMetadata ?? {} }, target);
      const staged = await this.blobs.adopt(target, { sha256: written.sha256, size: written.bytesWritten });
      cleanup.add(staged);
      const header = await withFileSource(staged.path, (source) => readSafetensorsHeader(source, { maxHeaderBytes: Number.MAX_SAFE_INTEGER }));
      return await this.record(
        {
          name: input.name,
          kind: input.kind,
          originalFormat: 'safetensors',
          sha256: staged.sha256,
          sizeBytes: staged.size,
          architectureId: input.architectureId ?? null,
          manifest: header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteOffset: t.byteOffset, byteLength: t.byteLength })),
          metadata: input.metadata ?? {},
          metrics: input.metrics ?? {},
          tags: input.tags ?? [],
          parentIds: input.parentIds ?? [],
        },
        staged,
        cleanup,
      );
    } finally {
      await this.blobs.discard(target).catch(() => undefined);
      for (const staged of cleanup) await this.blobs.discard(staged).catch(() => undefined);
    }
  }

  private async checkReferences(architectureId: string | null, parentIds: string[]): Promise<void> {
    if (architectureId && !(await this.repository.architectureExists(architectureId))) {
      throw new ServiceError('ARCHITECTURE_NOT_FOUND', `architecture ${architectureId} does not exist`, { field: 'architectureId' });
    }
    if (parentIds.length > 0) {
      const missing = await this.repository.missingCheckpoints(parentIds);
      if (missing.length) throw new ServiceError('CHECKPOINT_NOT_FOUND', `parent checkpoint(s) ${missing.join(', ')} do not exist`, { field: 'parentIds', missing });
    }
  }

  /** Publishes the staged bytes and records the checkpoint (one transaction, per-blob lock). */
  private async record(input: NewCheckpoint, staged: StagedBlob, cleanup: Set<StagedBlob>): Promise<Checkpoint> {
    const checkpoint = await this.repository.create(input, async () => {
      await this.blobs.commit(staged);
      cleanup.delete(staged);
    });
    this.logger.log({ msg: 'checkpoint stored', id: checkpoint.id, kind: checkpoint.kind, sha256: checkpoint.sha256, bytes: checkpoint.sizeBytes, tensors: checkpoint.tensorCount });
    return checkpoint;
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
    const used = usedInitializers(graph);
    const names = new Set(used.flatMap((i) => (i.aliasOf ? [i.name, i.aliasOf] : [i.name])));
    const bytes = checkpoint.manifest.filter((t) => names.has(t.name)).reduce((n, t) => n + t.byteLength, 0);
    if (bytes > MAX_PROTOBUF_BYTES - 64 * 1024 * 1024) {
      throw new ServiceError('CHECKPOINT_NOT_EXPORTABLE', `the weights take ${bytes} bytes: an ONNX file with embedded weights is limited to 2 GiB`, { reason: 'too-large', bytes });
    }
    const weights = await withFileSource(this.blobs.localPath(checkpoint.sha256), async (source) =>
      tensorSetWeights(await readSafetensors(source, { maxHeaderBytes: Number.MAX_SAFE_INTEGER }), names),
    );
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

