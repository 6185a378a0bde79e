import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Readable, Writable } from 'node:stream';
import { writeTensorSetAsSafetensors } from '../../core/formats/open-checkpoint';
import { readSafetensorsHeader } from '../../core/formats/safetensors';
import { ServiceError } from '../../core/service-error';
import { findNulCharacter, nulCharacterMessage } from '../../core/storable-text';
import type { BlobStore, StagedBlob } from '../../core/storage/blob-store.port';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { Metrics } from '../../infra/metrics/metrics';
import { describeReferences, referenceDetails, ReferenceRegistry } from '../../infra/references/reference-registry';
import { BLOB_STORE } from '../../infra/storage/storage.module';
import type { Cursor } from '../../http/pagination';
import { ArchitecturesService } from '../architectures/architectures.service';
import type { Checkpoint, CheckpointFilter, ComputedCheckpoint, EvaluationScore, LineageNode, NewCheckpoint } from './checkpoint.types';
import { buildLineage, DEFAULT_LINEAGE_BOUNDS } from './checkpoint-lineage';
import { ingestUpload, manifestOf, withStaged, writeStaged, type IngestedCheckpoint } from './checkpoint-ingest';
import { parseUploadFields } from './checkpoint-fields';
import { CheckpointsRepository } from './checkpoints.repository';

/** Any upload may convert to this many bytes, whatever its expansion. */
const EXPANSION_FLOOR_BYTES = 64 * 1024 * 1024;

/** What `prepare` learns about the upload itself. */
export interface UploadContext {
  /** The checkpoint's name: the `name` field, else the file name without its extension. */
  name: string;
  /** sha256 of the bytes as uploaded, before any conversion to safetensors. */
  sourceSha256: string;
}

/** An uploaded file staged by `stageUpload` (hashed, not yet stored). */
export type StagedUpload = StagedBlob;

/** An upload as the HTTP layer received it: the staged file and the form's text fields. */
export interface ReceivedUpload {
  /** Staged by `stageUpload`; discarded by `upload` whatever happens. */
  file: StagedUpload;
  filename: string;
  fields: Record<string, string>;
}

export interface UploadOptions<T> {
  /** Checkpoint kind to record (default `uploaded`). */
  kind?: string;
  /** Extra multipart text fields accepted by the caller, passed to `prepare`. */
  extraFields?: readonly string[];
  /** Runs on the validated, converted upload before anything is stored; throwing refuses it. */
  prepare?: (ingested: IngestedCheckpoint, extraFields: Record<string, string>, upload: UploadContext) => Promise<T>;
}

/** Metadata of a computed checkpoint whose bytes a producer writes as a safetensors stream. */
export type ComputedCheckpointInfo = Omit<ComputedCheckpoint, 'tensors' | 'safetensorsMetadata'>;

/**
 * The checkpoints module owns the blob store: uploads are staged, validated (and converted) and
 * published here; computed checkpoints are written here, once; other features read weights through
 * CheckpointReader. Deleting a checkpoint asks the reference registry what still refers to it.
 */
@Injectable()
export class CheckpointsService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(CheckpointsService.name);

  constructor(
    private readonly repository: CheckpointsRepository,
    private readonly metrics: Metrics,
    private readonly references: ReferenceRegistry,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly architectures: ArchitecturesService,
  ) {}

  onModuleInit(): void {
    this.references.register('checkpoint', 'checkpoint', (id, limit) => this.repository.children(id, limit));
    this.references.register('architecture', 'checkpoint', (id, limit) => this.repository.usingArchitecture(id, limit));
  }

  /**
   * Bytes published under a real name but never recorded (crash between the two) are removed. The
   * listing is checked against the blob rows a page at a time; only digests without a row take the
   * per-blob lock (a replica publishing them right now holds it until its row is written).
   */
  async onApplicationBootstrap(): Promise<void> {
    let removed = 0;
    const sweep = async (page: string[]): Promise<void> => {
      const recorded = await this.repository.recordedBlobs(page);
      for (const sha of page.filter((s) => !recorded.has(s))) {
        if (await this.repository.removeIfUnrecorded(sha, (s) => this.blobs.delete(s))) removed++;
      }
    };
    let page: string[] = [];
    for await (const sha of this.blobs.list()) {
      page.push(sha);
      if (page.length === 1000) {
        await sweep(page);
        page = [];
      }
    }
    await sweep(page);
    if (removed > 0) this.logger.warn({ msg: 'removed unrecorded blobs', removed });
  }

  /** Stages an uploaded file as it arrives (hashed, bounded by WEIGHTSMITH_MAX_UPLOAD_BYTES). */
  stageUpload(stream: Readable): Promise<StagedBlob> {
    return this.blobs.stage(stream, { maxBytes: this.config.limits.maxUploadBytes });
  }

  discardStaged(staged: StagedBlob): Promise<void> {
    return this.blobs.discard(staged);
  }

  /**
   * Validates (and converts) a staged upload and records the checkpoint. `options.prepare` lets
   * another module check the converted tensors and its own extra fields before anything is stored
   * (a refusal stores nothing). The staged file is discarded in every case.
   */
  async upload<T = undefined>(received: ReceivedUpload, options: UploadOptions<T> = {}): Promise<{ checkpoint: Checkpoint; prepared: T | undefined }> {
    const cleanup = new Set<StagedBlob>([received.file]);
    try {
      this.metrics.uploadedBytes.inc(received.file.size);
      if (received.file.size === 0) throw new ServiceError('FILE_EMPTY', 'the uploaded file is empty');
      const fields = { ...received.fields };
      const extra: Record<string, string> = {};
      for (const name of options.extraFields ?? []) {
        if (name in fields) {
          extra[name] = fields[name];
          delete fields[name];
        }
      }
      const input = parseUploadFields(fields, received.filename);
      await this.checkReferences(input.architectureId, input.parentIds);
      const ingested = await ingestUpload(received.file, received.filename, this.blobs, {
        maxHeaderBytes: this.config.limits.maxHeaderBytes,
        maxConvertedBytes: this.maxConvertedBytes(received.file.size),
      });
      cleanup.add(ingested.staged);
      const prepared = options.prepare ? await options.prepare(ingested, extra, { name: input.name, sourceSha256: received.file.sha256 }) : undefined;
      const checkpoint = await this.record(
        {
          ...input,
          kind: options.kind ?? 'uploaded',
          originalFormat: ingested.originalFormat,
          sha256: ingested.staged.sha256,
          sizeBytes: ingested.staged.size,
          manifest: ingested.manifest,
          metadata: { ...ingested.metadata, ...(received.filename ? { sourceFilename: received.filename } : {}) },
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
   * What an upload of `uploadBytes` may convert to: WEIGHTSMITH_MAX_CHECKPOINT_BYTES, and at most
   * WEIGHTSMITH_MAX_CHECKPOINT_EXPANSION times the upload (never less than a floor, for small files).
   */
  private maxConvertedBytes(uploadBytes: number): number {
    const { maxCheckpointBytes, maxCheckpointExpansion } = this.config.limits;
    return Math.min(maxCheckpointBytes, Math.max(EXPANSION_FLOOR_BYTES, uploadBytes * maxCheckpointExpansion));
  }

  /**
   * Stores tensors computed by the service (initializations, soups, ...) as a new checkpoint: one
   * streamed write into the blob store's staging area, then published and recorded like an upload.
   * With an aborted `signal` (a cancelled job) nothing is stored.
   */
  storeComputed(input: ComputedCheckpoint, signal?: AbortSignal): Promise<Checkpoint> {
    const { tensors, safetensorsMetadata, ...info } = input;
    return this.storeComputedStream(info, (sink) => writeTensorSetAsSafetensors({ format: 'safetensors', tensors, metadata: safetensorsMetadata ?? {} }, sink), signal);
  }

  /**
   * Stores a computed checkpoint whose safetensors bytes `write` streams into `sink` (e.g. from a
   * worker thread), written once. The header is read back from the staged bytes for the manifest.
   */
  async storeComputedStream(info: ComputedCheckpointInfo, write: (sink: Writable) => Promise<unknown>, signal?: AbortSignal): Promise<Checkpoint> {
    await this.checkReferences(info.architectureId ?? null, info.parentIds ?? []);
    const staged = await writeStaged(this.blobs.createStagedWriter(), (w) => write(w.stream));
    const cleanup = new Set<StagedBlob>([staged]);
    try {
      const header = await withStaged(this.blobs, staged, (source) => readSafetensorsHeader(source, { maxHeaderBytes: Number.MAX_SAFE_INTEGER }));
      signal?.throwIfAborted();
      return await this.record(
        {
          name: info.name,
          kind: info.kind,
          originalFormat: 'safetensors',
          sha256: staged.sha256,
          sizeBytes: staged.size,
          architectureId: info.architectureId ?? null,
          manifest: manifestOf(header),
          metadata: info.metadata ?? {},
          metrics: info.metrics ?? {},
          tags: info.tags ?? [],
          parentIds: info.parentIds ?? [],
        },
        staged,
        cleanup,
        signal,
      );
    } finally {
      for (const s of cleanup) await this.blobs.discard(s).catch(() => undefined);
    }
  }

  private async checkReferences(architectureId: string | null, parentIds: string[]): Promise<void> {
    if (architectureId && !(await this.architectures.exists(architectureId))) {
      throw new ServiceError('ARCHITECTURE_NOT_FOUND', `architecture ${architectureId} does not exist`, { field: 'architectureId' });
    }
    if (parentIds.length > 0) {
      const missing = await this.repository.missingCheckpoints(parentIds);
      if (missing.length) throw new ServiceError('CHECKPOINT_NOT_FOUND', `parent checkpoint(s) ${missing.join(', ')} do not exist`, { field: 'parentIds', missing });
    }
  }

  /**
   * Publishes the staged bytes and records the checkpoint (one transaction, per-blob lock). Text the
   * database cannot store (a NUL in a name, tag, metrics or metadata key, tensor name) is refused
   * first; when the record still fails after publishing, the bytes are removed at once unless
   * another checkpoint records them.
   */
  private async record(input: NewCheckpoint, staged: StagedBlob, cleanup: Set<StagedBlob>, signal?: AbortSignal): Promise<Checkpoint> {
    const nul = findNulCharacter(input);
    if (nul !== null) throw new ServiceError('VALIDATION_FAILED', nulCharacterMessage(`the checkpoint's ${nul}`), { field: nul });
    let published = false;
    const checkpoint = await this.repository
      .create(input, async () => {
        // Last look before anything is published: a cancelled job stores nothing.
        signal?.throwIfAborted();
        await this.blobs.commit(staged);
        published = true;
        cleanup.delete(staged);
      })
      .catch(async (e: unknown) => {
        if (published) await this.removeUnrecorded(input.sha256);
        throw e;
      });
    this.logger.log({ msg: 'checkpoint stored', id: checkpoint.id, kind: checkpoint.kind, sha256: checkpoint.sha256, bytes: checkpoint.sizeBytes, tensors: checkpoint.tensorCount });
    return checkpoint;
  }

  /** Removes published bytes whose record was not written (the start-up sweep would, later). */
  private async removeUnrecorded(sha256: string): Promise<void> {
    try {
      if (await this.repository.removeIfUnrecorded(sha256, (s) => this.blobs.delete(s))) this.logger.warn({ msg: 'removed a blob whose record failed', sha256 });
    } catch (e) {
      this.logger.error({ msg: 'could not remove a blob whose record failed; the next start removes it', sha256, error: (e as Error).message });
    }
  }

  async get(id: string): Promise<Checkpoint> {
    const checkpoint = await this.repository.find(id);
    if (!checkpoint) throw new ServiceError('CHECKPOINT_NOT_FOUND', `checkpoint ${id} does not exist`);
    return checkpoint;
  }

  /** What the checkpoint was made from, as a tree (a soup's ingredients and base, their own ingredients, ...), `maxDepth` levels deep. */
  async lineage(id: string, maxDepth = DEFAULT_LINEAGE_BOUNDS.maxDepth): Promise<LineageNode> {
    const c = await this.get(id);
    return buildLineage({ id: c.id, name: c.name, kind: c.kind, parentIds: c.parentIds }, (ids) => this.repository.lineageNodes(ids), { ...DEFAULT_LINEAGE_BOUNDS, maxDepth });
  }

  list(filter: CheckpointFilter, limit: number, cursor?: Cursor): Promise<Checkpoint[]> {
    return this.repository.list(filter, limit, cursor);
  }

  /** Deletes a checkpoint nothing refers to (409 CHECKPOINT_IN_USE), and its bytes when no other checkpoint shares them. */
  async delete(id: string): Promise<void> {
    await this.get(id);
    const refs = await this.references.find('checkpoint', id);
    if (refs.length > 0) throw new ServiceError('CHECKPOINT_IN_USE', `checkpoint ${id} is referenced by ${describeReferences(refs)}`, referenceDetails(refs));
    const { removedBlob } = await this.repository.delete(id, (sha) => this.blobs.delete(sha));
    this.logger.log({ msg: 'checkpoint deleted', id, removedBlob });
  }

  /**
   * Shows an evaluation's score on the checkpoint: metrics top1, top5 (when the dataset has 5
   * classes or more) and loss, and `metricsSource` (evaluation, dataset, split, batchNorm mode).
   * The latest evaluation wins; a checkpoint deleted meanwhile is skipped.
   */
  async recordEvaluation(id: string, score: EvaluationScore): Promise<void> {
    if (!(await this.repository.recordEvaluation(id, score))) this.logger.warn({ msg: 'evaluated checkpoint no longer exists', id });
  }

  /** The blob store answers (readiness). */
  async checkStorage(): Promise<{ kind: string }> {
    await this.blobs.check();
    return { kind: this.blobs.kind };
  }
}
