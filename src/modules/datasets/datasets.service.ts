import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { builtinDatasetInfo, readDataset, splitDataset } from '../../core/datasets';
import { ServiceError } from '../../core/service-error';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { describeReferences, referenceDetails, ReferenceRegistry } from '../../infra/references/reference-registry';
import { ScratchSpace, type SpooledFile } from '../../infra/scratch/scratch-space';
import { runInWorker, workerScript } from '../../infra/workers/run-in-worker';
import type { Cursor } from '../../http/pagination';
import { BoundedCache } from '../architectures/bounded-cache';
import { SharedBlobs, type StagedFile } from '../checkpoints/shared-blobs';
import type { DatasetIngestInput } from './dataset-ingest';
import { datasetName, MAX_DATASET_SEED, parseUploadFields, splitRule } from './dataset-request';
import type { DatasetRecord, DatasetSummary, LoadedDataset } from './dataset.types';
import { DatasetsRepository } from './datasets.repository';

/** Decoding, statistics and writing a dataset in the worker (fashion-mnist: a few seconds). */
const WORKER_TIMEOUT_MS = 10 * 60_000;
/** Decoded datasets kept in memory per process, by their inputs' bytes (fashion-mnist: 55 MB). */
const MAX_CACHED_BYTES = 512 * 1024 * 1024;

/** An upload as the controller received it: the spooled file and the form's text fields. */
export interface ReceivedDatasetUpload {
  file: SpooledFile;
  filename: string;
  fields: Record<string, string>;
}

export interface BuiltinDatasetRequest {
  builtin: string;
  name?: string;
  seed?: number;
  validation?: number;
  test?: number;
}

/**
 * Datasets: uploaded safetensors files and image-folder archives, and the builtin ones, decoded in
 * a worker thread, stored in the blob store as dataset safetensors files (content-addressed; the
 * bytes are shared with any identical dataset or checkpoint) and recorded with their shape, classes,
 * splits and training-split normalization. `load` gives other features the decoded dataset.
 */
@Injectable()
export class DatasetsService {
  private readonly logger = new Logger(DatasetsService.name);
  private readonly cache = new BoundedCache<LoadedDataset>(MAX_CACHED_BYTES, (d) => d.dataset.inputs.byteLength);

  constructor(
    private readonly repository: DatasetsRepository,
    private readonly blobs: SharedBlobs,
    private readonly scratch: ScratchSpace,
    private readonly references: ReferenceRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Spools an uploaded file to scratch as it arrives (bounded by WEIGHTSMITH_MAX_UPLOAD_BYTES). */
  spoolUpload(stream: Readable): Promise<SpooledFile> {
    return this.scratch.spool(stream, this.config.limits.maxUploadBytes);
  }

  discardUpload(file: SpooledFile): Promise<void> {
    return this.scratch.remove(file.path);
  }

  /** Stores an uploaded dataset file or archive; the spooled file is removed whatever happens. */
  async upload(received: ReceivedDatasetUpload): Promise<DatasetRecord> {
    try {
      if (received.file.size === 0) throw new ServiceError('FILE_EMPTY', 'the uploaded file is empty');
      const fields = parseUploadFields(received.fields, received.filename);
      return await this.store(fields.name, {
        kind: 'upload',
        path: received.file.path,
        split: fields.split,
        ...(fields.classCount !== undefined ? { classCount: fields.classCount } : {}),
        ...(fields.archive ? { archive: fields.archive } : {}),
      });
    } finally {
      await this.discardUpload(received.file).catch(() => undefined);
    }
  }

  /** Stores a builtin dataset (fashion-mnist, mnist) with its default or the given split fractions. */
  async createBuiltin(request: BuiltinDatasetRequest): Promise<DatasetRecord> {
    builtinDatasetInfo(request.builtin);
    const seed = request.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_DATASET_SEED) throw new ServiceError('INVALID_FIELD', `seed must be an integer in [0, ${MAX_DATASET_SEED}]`, { field: 'seed' });
    if (request.validation !== undefined && request.test !== undefined) splitRule(seed, request.validation, request.test);
    const name = datasetName(request.name ?? request.builtin, '');
    return this.store(name, {
      kind: 'builtin',
      name: request.builtin,
      split: { seed, ...(request.validation !== undefined ? { validation: request.validation } : {}), ...(request.test !== undefined ? { test: request.test } : {}) },
    });
  }

  /** Decodes in the worker, which streams the dataset file into staging; then publishes and records it. */
  private async store(name: string, input: DatasetIngestInput): Promise<DatasetRecord> {
    const started = performance.now();
    const { staged, value: summary } = await this.blobs.writeStaged((sink) =>
      runInWorker<DatasetIngestInput, DatasetSummary>(workerScript(__dirname, 'dataset.worker'), input, { timeoutMs: WORKER_TIMEOUT_MS, output: sink }),
    );
    try {
      const record = await this.record({ ...summary, name, sha256: staged.sha256, sizeBytes: staged.size }, staged);
      this.logger.log({ msg: 'dataset stored', id: record.id, source: record.source, shape: record.shape, sha256: record.sha256, ms: Math.round(performance.now() - started) });
      return record;
    } finally {
      await this.blobs.discard(staged).catch(() => undefined);
    }
  }

  private async record(input: Omit<DatasetRecord, 'id' | 'createdAt'>, staged: StagedFile): Promise<DatasetRecord> {
    let published = false;
    return this.repository
      .create(input, async () => {
        await this.blobs.publish(staged);
        published = true;
      })
      .catch(async (e: unknown) => {
        if (published) await this.blobs.removeUnrecorded(input.sha256);
        throw e;
      });
  }

  async get(id: string): Promise<DatasetRecord> {
    const dataset = await this.repository.find(id);
    if (!dataset) throw new ServiceError('DATASET_NOT_FOUND', `dataset ${id} does not exist`);
    return dataset;
  }

  list(filter: { name?: string; source?: string }, limit: number, cursor?: Cursor): Promise<DatasetRecord[]> {
    return this.repository.list(filter, limit, cursor);
  }

  /** Deletes a dataset nothing depends on (409 DATASET_IN_USE), and its bytes when nothing else records them. */
  async delete(id: string): Promise<void> {
    await this.get(id);
    const refs = await this.references.find('dataset', id);
    if (refs.length > 0) throw new ServiceError('DATASET_IN_USE', `dataset ${id} is referenced by ${describeReferences(refs)}`, referenceDetails(refs));
    const { removedBlob } = await this.repository.delete(id, (sha) => this.blobs.delete(sha));
    this.logger.log({ msg: 'dataset deleted', id, removedBlob });
  }

  /**
   * The stored dataset decoded (inputs as stored: normalization is applied by gatherBatch, never
   * baked in), its splits (recomputed from the recorded seed and fractions: deterministic) and its
   * normalization. Decoded datasets are cached per process, bounded by their size.
   */
  async load(id: string): Promise<LoadedDataset> {
    const record = await this.get(id);
    return this.cache.get(record.id, async () => {
      const source = await this.blobs.openRandomAccess(record.sha256, `dataset ${record.id}`);
      try {
        const dataset = await readDataset(source, { classCount: record.classCount });
        const splits = splitDataset(dataset.labels, dataset.classCount, record.split);
        return { record, dataset, splits, normalization: record.normalization };
      } finally {
        await source.close();
      }
    });
  }
}
