import { Readable } from 'node:stream';
import type { BlobStore } from '../../core/storage/blob-store.port';
import type { ArchitecturesService } from '../architectures/architectures.service';
import type { JobsService } from '../jobs/jobs.service';
import { CheckpointReader } from './checkpoint-reader';
import type { Checkpoint, ManifestEntry } from './checkpoint.types';
import type { CheckpointsService } from './checkpoints.service';

const floats = (...values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);

describe('CheckpointReader statistics', () => {
  const checkpoint = { id: 'c0ffee00-0000-4000-8000-000000000000', sha256: 'ab'.repeat(32) } as Checkpoint;
  const entry: ManifestEntry = { name: 'w', dtype: 'F32', shape: [4], byteOffset: 0, byteLength: 16 };
  /** A reader whose blob store streams the tensor in two chunks, calling `between` after the first. */
  const readerOf = (between: () => void) => {
    const blobs = {
      read: async () =>
        Readable.from(
          (async function* () {
            yield floats(1, 2);
            between();
            yield floats(3, 4);
          })(),
        ),
    } as unknown as BlobStore;
    return new CheckpointReader({} as CheckpointsService, {} as ArchitecturesService, {} as JobsService, blobs);
  };

  it('reads every chunk of a tensor', async () => {
    const stats = await readerOf(() => undefined).tensorStatistics(checkpoint, entry);
    expect(stats).toMatchObject({ count: 4, min: 1, max: 4, mean: 2.5 });
  });

  it('stops a cancelled statistics job mid-tensor without a partial result', async () => {
    const cancel = new AbortController();
    const reading = readerOf(() => cancel.abort(new Error('job was cancelled'))).tensorStatistics(checkpoint, entry, cancel.signal);
    await expect(reading).rejects.toThrow('job was cancelled');
  });
});
