import { Injectable } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import { ServiceError } from '../../core/service-error';
import { lockBlob, recordBlob, releaseBlobRow } from '../../infra/database/blob-rows';
import { isForeignKeyViolation } from '../../infra/database/prisma-errors';
import { PrismaService } from '../../infra/database/prisma.service';
import type { Cursor } from '../../http/pagination';
import type { DatasetRecord, DatasetSource, NewDataset, SplitSizes } from './dataset.types';

/** Publishing a large dataset to S3 takes a while: the transaction may last. */
const PUBLISH_TRANSACTION = { maxWait: 30_000, timeout: 3600_000 };

type Row = Prisma.DatasetGetPayload<object>;

function toRecord(row: Row): DatasetRecord {
  return {
    id: row.id,
    name: row.name,
    source: row.source as DatasetSource,
    shape: row.shape as [number, number, number, number],
    inputDtype: row.inputDtype as 'F32' | 'U8',
    classCount: row.classCount,
    classNames: (row.classNames ?? null) as string[] | null,
    normalization: row.normalization as unknown as DatasetRecord['normalization'],
    split: { seed: row.splitSeed, validation: row.validationFraction, test: row.testFraction },
    splitSizes: row.splitSizes as unknown as SplitSizes,
    sha256: row.blobSha256,
    sizeBytes: Number(row.sizeBytes),
    createdAt: row.createdAt,
  };
}

@Injectable()
export class DatasetsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Publishes the dataset's bytes (`publishBlob`) and records them with the dataset in one
   * transaction under the per-blob lock, as checkpoints do: identical bytes share one blob row.
   */
  async create(input: NewDataset, publishBlob: () => Promise<void>): Promise<DatasetRecord> {
    const row = await this.prisma.client.$transaction(async (tx) => {
      await lockBlob(tx, input.sha256);
      await publishBlob();
      await recordBlob(tx, input.sha256, input.sizeBytes);
      return tx.dataset.create({
        data: {
          name: input.name,
          source: input.source,
          shape: [...input.shape],
          inputDtype: input.inputDtype,
          classCount: input.classCount,
          ...(input.classNames ? { classNames: input.classNames } : {}),
          normalization: { mean: [...input.normalization.mean], std: [...input.normalization.std] },
          splitSeed: input.split.seed,
          validationFraction: input.split.validation,
          testFraction: input.split.test,
          splitSizes: { ...input.splitSizes },
          blobSha256: input.sha256,
          sizeBytes: BigInt(input.sizeBytes),
        },
      });
    }, PUBLISH_TRANSACTION);
    return toRecord(row);
  }

  async find(id: string): Promise<DatasetRecord | null> {
    const row = await this.prisma.client.dataset.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  async list(filter: { name?: string; source?: string }, limit: number, cursor?: Cursor): Promise<DatasetRecord[]> {
    const rows = await this.prisma.client.dataset.findMany({
      where: {
        ...(filter.name ? { name: filter.name } : {}),
        ...(filter.source ? { source: filter.source } : {}),
        ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
    return rows.map(toRecord);
  }

  /**
   * Deletes a dataset (the service asked the reference registry first); when no dataset or
   * checkpoint records its bytes any more, the blob row goes and `removeBlob` deletes the bytes,
   * under the per-blob lock. A reference made since the check trips a foreign key: 409.
   */
  async delete(id: string, removeBlob: (sha256: string) => Promise<void>): Promise<{ removedBlob: string | null }> {
    return this.prisma.client.$transaction(async (tx) => {
      const row = await tx.dataset.findUnique({ where: { id }, select: { blobSha256: true } });
      if (!row) throw new ServiceError('DATASET_NOT_FOUND', `dataset ${id} does not exist`);
      await lockBlob(tx, row.blobSha256);
      await tx.dataset.delete({ where: { id } }).catch((e: unknown) => {
        throw isForeignKeyViolation(e) ? new ServiceError('DATASET_IN_USE', `dataset ${id} became referenced while it was being deleted`) : e;
      });
      if (!(await releaseBlobRow(tx, row.blobSha256))) return { removedBlob: null };
      await removeBlob(row.blobSha256);
      return { removedBlob: row.blobSha256 };
    }, PUBLISH_TRANSACTION);
  }
}
