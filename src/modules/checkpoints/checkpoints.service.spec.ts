import { Logger } from '@nestjs/common';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { initializationMetadata } from '../../core/init';
import { buildZooModel } from '../../core/graph/zoo';
import { toGraphJson } from '../../core/graph/graph-json';
import type { InMemoryTensor } from '../../core/formats/safetensors';
import type { LazyTensor } from '../../core/formats/tensor-set';
import { STORAGE_TYPES, storageId, tensorValue, writeTorchZip } from '../../core/formats/torch/testing/checkpoint-writers';
import { orderedDict, persistent } from '../../core/formats/torch/testing/pickle-writer';
import type { BlobStore, StagedWriter, StageOptions } from '../../core/storage/blob-store.port';
import type { AppConfig } from '../../infra/config/app-config';
import type { Metrics } from '../../infra/metrics/metrics';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import { FsBlobStore } from '../../infra/storage/fs-blob-store';
import { runInWorker, workerScript } from '../../infra/workers/run-in-worker';
import type { ArchitecturesService } from '../architectures/architectures.service';
import type { Checkpoint, NewCheckpoint } from './checkpoint.types';
import type { CheckpointsRepository } from './checkpoints.repository';
import { CheckpointsService } from './checkpoints.service';

jest.mock('./checkpoints.repository', () => ({ CheckpointsRepository: class CheckpointsRepository {} }));
jest.mock('../architectures/architectures.service', () => ({ ArchitecturesService: class ArchitecturesService {} }));

/** Counts every byte written into the staging area, through `stage` or a staged writer. */
class CountingStore {
  written = 0;
  constructor(readonly inner: FsBlobStore) {}

  wrap(): BlobStore {
    const count = (stream: Writable): void => {
      const write = stream.write.bind(stream) as (chunk: Uint8Array, ...rest: unknown[]) => boolean;
      const end = stream.end.bind(stream) as (...args: unknown[]) => Writable;
      stream.write = ((chunk: Uint8Array, ...rest: unknown[]) => {
        this.written += chunk.length;
        return write(chunk, ...rest);
      }) as Writable['write'];
      stream.end = ((...args: unknown[]) => {
        if (args[0] instanceof Uint8Array) this.written += args[0].length;
        return end(...args);
      }) as Writable['end'];
    };
    return new Proxy(this.inner, {
      get: (target, key, receiver) => {
        if (key === 'createStagedWriter') {
          return (options?: StageOptions): StagedWriter => {
            const writer = target.createStagedWriter(options);
            count(writer.stream);
            return writer;
          };
        }
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

/** Records checkpoints in memory; publishes the blob as the real repository does (inside the transaction). */
class FakeRepository {
  created: NewCheckpoint[] = [];
  async create(input: NewCheckpoint, publish: () => Promise<void>): Promise<Checkpoint> {
    await publish();
    this.created.push(input);
    return { ...input, id: `ckpt-${this.created.length}`, format: 'safetensors', tensorCount: input.manifest.length, parameterCount: 0, metricsSource: null, createdAt: new Date() };
  }
}

function tensors(): LazyTensor[] {
  const raw: InMemoryTensor[] = [
    { name: 'a', dtype: 'F32', shape: [64, 32], data: new Uint8Array(64 * 32 * 4).fill(3) },
    { name: 'b', dtype: 'F16', shape: [100], data: new Uint8Array(200).fill(7) },
  ];
  return raw.map((t) => ({ ...t, chunks: async function* () { yield t.data; } }));
}

describe('CheckpointsService: computed checkpoints', () => {
  let root: string;
  let counting: CountingStore;
  let repository: FakeRepository;
  let service: CheckpointsService;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ws-computed-'));
    const fs = new FsBlobStore(join(root, 'blobs'));
    await fs.init();
    counting = new CountingStore(fs);
    repository = new FakeRepository();
    const metrics = { uploadedBytes: { inc: () => undefined } } as unknown as Metrics;
    const config = { limits: { maxUploadBytes: 1 << 30, maxHeaderBytes: 1 << 20, maxCheckpointBytes: 1 << 30, maxCheckpointExpansion: 16 } } as AppConfig;
    const architectures = { exists: async () => true } as unknown as ArchitecturesService;
    service = new CheckpointsService(repository as unknown as CheckpointsRepository, metrics, new ReferenceRegistry(), counting.wrap(), config, architectures);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const staged = () => readdir(join(root, 'blobs', 'tmp'));

  it('writes computed tensors once: the bytes written equal the stored file', async () => {
    const checkpoint = await service.storeComputed({ name: 'c', kind: 'initialization', tensors: tensors(), safetensorsMetadata: { method: 'kaiming' } });
    expect(checkpoint.sizeBytes).toBe(await counting.inner.size(checkpoint.sha256));
    expect(counting.written).toBe(checkpoint.sizeBytes);
    expect(checkpoint.manifest.map((t) => [t.name, t.byteLength])).toEqual([['a', 8192], ['b', 200]]);
    expect(await staged()).toEqual([]);
  });

  it('writes a worker-thread initialization once, streamed into the staged writer', async () => {
    const graph = toGraphJson(buildZooModel('squeezenet1_1'));
    const input = { graph, method: 'kaiming', seed: 3, metadata: initializationMetadata({ method: 'kaiming', seed: 3, batchNorm: 'fresh' }) };
    const script = workerScript(join(__dirname, '..', 'initializations'), 'initialization.worker');
    const checkpoint = await service.storeComputedStream({ name: 'sq', kind: 'initialization' }, (output) => runInWorker(script, input, { timeoutMs: 60_000, output }));
    expect(checkpoint.manifest.length).toBeGreaterThan(50);
    expect(counting.written).toBe(checkpoint.sizeBytes);
    expect(await counting.inner.size(checkpoint.sha256)).toBe(checkpoint.sizeBytes);
    expect(await staged()).toEqual([]);
  }, 60_000);

  it('refuses an upload that converts to more than 16 times its size (64 MiB floor), writing nothing', async () => {
    const numel = (80 * 1024 * 1024) / 4;
    const storage = persistent(storageId({ key: '0', type: STORAGE_TYPES.F32, numel }, 'zip'));
    const bomb = writeTorchZip(orderedDict({ w: tensorValue(storage, 0, [numel], [1]) }), { '0': new Uint8Array(numel * 4) }, { deflate: true });
    const file = await service.stageUpload(Readable.from([Buffer.from(bomb)]));
    const error = await service.upload({ file, filename: 'bomb.pt', fields: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CHECKPOINT_TOO_LARGE', details: { convertedBytes: numel * 4, maxConvertedBytes: 64 * 1024 * 1024 } });
    expect(counting.written).toBe(0);
    expect(repository.created).toEqual([]);
    expect(await staged()).toEqual([]);
  });

  it('stores nothing for a cancelled computation', async () => {
    const cancel = new AbortController();
    cancel.abort(new Error('job was cancelled'));
    await expect(service.storeComputed({ name: 'c', kind: 'initialization', tensors: tensors() }, cancel.signal)).rejects.toThrow('job was cancelled');
    expect(repository.created).toEqual([]);
    const stored: string[] = [];
    for await (const sha of counting.inner.list()) stored.push(sha);
    expect(stored).toEqual([]);
    expect(await staged()).toEqual([]);
  });

  it('stops a worker when its computation is cancelled, storing nothing', async () => {
    const graph = toGraphJson(buildZooModel('resnet50'));
    const input = { graph, method: 'orthogonal', seed: 0, metadata: {} };
    const script = workerScript(join(__dirname, '..', 'initializations'), 'initialization.worker');
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('job was cancelled')), 300);
    await expect(service.storeComputedStream({ name: 'r50', kind: 'initialization' }, (output) => runInWorker(script, input, { timeoutMs: 60_000, output, signal: cancel.signal }), cancel.signal)).rejects.toThrow(
      'job was cancelled',
    );
    expect(repository.created).toEqual([]);
    expect(await staged()).toEqual([]);
  }, 60_000);
});

/** Publishes the blob, then fails to write the row (as a database error inside the transaction would). */
class FailingRepository {
  removed: string[] = [];
  async create(_input: NewCheckpoint, publish: () => Promise<void>): Promise<Checkpoint> {
    await publish();
    throw new Error('insert failed');
  }
  async removeIfUnrecorded(sha256: string, removeBlob: (sha256: string) => Promise<void>): Promise<boolean> {
    this.removed.push(sha256);
    await removeBlob(sha256);
    return true;
  }
}

describe('CheckpointsService: bytes whose record fails', () => {
  let root: string;
  let store: FsBlobStore;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ws-record-'));
    store = new FsBlobStore(join(root, 'blobs'));
    await store.init();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const service = (repository: object): CheckpointsService =>
    new CheckpointsService(
      repository as unknown as CheckpointsRepository,
      { uploadedBytes: { inc: () => undefined } } as unknown as Metrics,
      new ReferenceRegistry(),
      store,
      { limits: { maxUploadBytes: 1 << 30, maxHeaderBytes: 1 << 20 } } as AppConfig,
      { exists: async () => true } as unknown as ArchitecturesService,
    );
  const storedBlobs = async (): Promise<string[]> => {
    const found: string[] = [];
    for await (const sha of store.list()) found.push(sha);
    return found;
  };

  it('removes published bytes at once when the record cannot be written', async () => {
    const repository = new FailingRepository();
    await expect(service(repository).storeComputed({ name: 'c', kind: 'initialization', tensors: tensors() })).rejects.toThrow('insert failed');
    expect(repository.removed).toHaveLength(1);
    expect(await storedBlobs()).toEqual([]);
    expect(await readdir(join(root, 'blobs', 'tmp'))).toEqual([]);
  });

  it('refuses a tensor name with a NUL character before anything is published', async () => {
    const repository = new FakeRepository();
    const named = tensors().map((t, i) => (i === 1 ? { ...t, name: 'b\u0000' } : t));
    await expect(service(repository).storeComputed({ name: 'c', kind: 'initialization', tensors: named })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/manifest\[1\]\.name contains a NUL character/),
    });
    expect(repository.created).toEqual([]);
    expect(await storedBlobs()).toEqual([]);
  });
});
