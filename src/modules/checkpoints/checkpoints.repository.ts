import { Injectable } from '@nestjs/common';
import { Prisma } from '@prisma/client';
import { lockBlob, recordBlob, releaseBlobRow } from '../../infra/database/blob-rows';
import { isForeignKeyViolation } from '../../infra/database/prisma-errors';
import { PrismaService } from '../../infra/database/prisma.service';
import type { Cursor } from '../../http/pagination';
import { ServiceError } from '../../core/service-error';
import type { Checkpoint, CheckpointFilter, EvaluationScore, LineageRecord, ManifestEntry, MetricsSource, NewCheckpoint } from './checkpoint.types';
import { referencesFrom } from '../../infra/references/reference-registry';

const include = { parents: { select: { parentId: true } } } as const;

/** Transactions that publish or remove bytes: an S3 upload of a large checkpoint takes a while. */
const PUBLISH_TRANSACTION = { maxWait: 30_000, timeout: 6 * 3600_000 };
type Row = Prisma.CheckpointGetPayload<{ include: typeof include }>;

function toCheckpoint(row: Row): Checkpoint {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    format: row.format,
    originalFormat: row.originalFormat,
    sha256: row.blobSha256,
    sizeBytes: Number(row.sizeBytes),
    architectureId: row.architectureId,
    tensorCount: row.tensorCount,
    parameterCount: Number(row.parameterCount),
    manifest: row.manifest as unknown as ManifestEntry[],
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    metrics: (row.metrics ?? {}) as Record<string, number>,
    metricsSource: (row.metricsSource ?? null) as MetricsSource | null,
    tags: row.tags,
    parentIds: row.parents.map((p) => p.parentId),
    createdAt: row.createdAt,
  };
}

@Injectable()
export class CheckpointsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async missingCheckpoints(ids: string[]): Promise<string[]> {
    const found = await this.prisma.client.checkpoint.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const have = new Set(found.map((f) => f.id));
    return ids.filter((id) => !have.has(id));
  }

  /**
   * Publishes the blob (via `publishBlob`) and records it with the checkpoint in one transaction,
   * holding a per-blob advisory lock so that a concurrent delete of the same bytes, or another
   * replica's start-up sweep, cannot remove them between publication and the row insert. Identical
   * bytes share one blob row. Publishing may be a multi-GB upload to S3: the transaction may last.
   */
  async create(input: NewCheckpoint, publishBlob: () => Promise<void>): Promise<Checkpoint> {
    const parameterCount = input.manifest.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    const row = await this.prisma.client.$transaction(async (tx) => {
      await lockBlob(tx, input.sha256);
      await publishBlob();
      await recordBlob(tx, input.sha256, input.sizeBytes);
      return tx.checkpoint.create({
        data: {
          name: input.name,
          kind: input.kind,
          originalFormat: input.originalFormat,
          blobSha256: input.sha256,
          sizeBytes: BigInt(input.sizeBytes),
          architectureId: input.architectureId,
          tensorCount: input.manifest.length,
          parameterCount: BigInt(parameterCount),
          manifest: input.manifest as unknown as Prisma.InputJsonValue,
          metadata: input.metadata as Prisma.InputJsonValue,
          metrics: input.metrics as Prisma.InputJsonValue,
          tags: input.tags,
          parents: { create: input.parentIds.map((parentId) => ({ parentId })) },
        },
        include,
      });
    }, PUBLISH_TRANSACTION);
    return toCheckpoint(row);
  }

  /** Name, kind and parents of each of these checkpoints (those that exist), for lineage trees. */
  async lineageNodes(ids: readonly string[]): Promise<LineageRecord[]> {
    const rows = await this.prisma.client.checkpoint.findMany({
      where: { id: { in: [...ids] } },
      select: { id: true, name: true, kind: true, parents: { select: { parentId: true }, orderBy: { parentId: 'asc' } } },
    });
    return rows.map((r) => ({ id: r.id, name: r.name, kind: r.kind, parentIds: r.parents.map((p) => p.parentId) }));
  }

  /** Checkpoints derived from this one (lineage children). */
  async children(id: string, limit: number): Promise<{ ids: string[]; total: number }> {
    const where = { parentId: id };
    return referencesFrom(
      this.prisma.client.checkpointParent.findMany({ where, select: { childId: true }, orderBy: { childId: 'asc' }, take: limit }),
      this.prisma.client.checkpointParent.count({ where }),
      (r) => r.childId,
    );
  }

  /** Checkpoints that name this architecture. */
  async usingArchitecture(architectureId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    const where = { architectureId };
    return referencesFrom(
      this.prisma.client.checkpoint.findMany({ where, select: { id: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: limit }),
      this.prisma.client.checkpoint.count({ where }),
      (r) => r.id,
    );
  }

  async find(id: string): Promise<Checkpoint | null> {
    const row = await this.prisma.client.checkpoint.findUnique({ where: { id }, include });
    return row ? toCheckpoint(row) : null;
  }

  async list(filter: CheckpointFilter, limit: number, cursor?: Cursor): Promise<Checkpoint[]> {
    const rows = await this.prisma.client.checkpoint.findMany({
      where: {
        ...(filter.tag ? { tags: { has: filter.tag } } : {}),
        ...(filter.architectureId ? { architectureId: filter.architectureId } : {}),
        ...(filter.name ? { name: filter.name } : {}),
        // A training's resumable state is listed only when asked for by kind.
        kind: filter.kind ?? { not: 'training-state' },
        ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include,
    });
    return rows.map(toCheckpoint);
  }

  /**
   * Deletes a checkpoint (the service asked the reference registry first); when no checkpoint or
   * dataset uses its blob any more, the blob row goes too and `removeBlob` deletes the bytes under the per-blob
   * lock. A reference made since the check trips a foreign key (ON DELETE RESTRICT): 409.
   */
  async delete(id: string, removeBlob: (sha256: string) => Promise<void>): Promise<{ removedBlob: string | null }> {
    return this.prisma.client.$transaction(async (tx) => {
      const row = await tx.checkpoint.findUnique({ where: { id }, select: { blobSha256: true } });
      if (!row) throw new ServiceError('CHECKPOINT_NOT_FOUND', `checkpoint ${id} does not exist`);
      await lockBlob(tx, row.blobSha256);
      await tx.checkpoint.delete({ where: { id } }).catch((e: unknown) => {
        throw isForeignKeyViolation(e) ? new ServiceError('CHECKPOINT_IN_USE', `checkpoint ${id} became referenced while it was being deleted`) : e;
      });
      if (!(await releaseBlobRow(tx, row.blobSha256))) return { removedBlob: null };
      await removeBlob(row.blobSha256);
      return { removedBlob: row.blobSha256 };
    }, PUBLISH_TRANSACTION);
  }

  /**
   * Writes an evaluation's score into the checkpoint's metrics (top1, loss, and top5 when there is
   * one; a stale top5 goes) with its source, unless a later evaluation already did. False when the
   * checkpoint no longer exists.
   */
  async recordEvaluation(id: string, score: EvaluationScore): Promise<boolean> {
    return this.prisma.client.$transaction(async (tx) => {
      const row = await tx.checkpoint.findUnique({ where: { id }, select: { metrics: true, metricsSource: true } });
      if (!row) return false;
      const previous = row.metricsSource as unknown as MetricsSource | null;
      if (previous && previous.evaluatedAt > score.source.evaluatedAt) return true;
      const { top5: _stale, ...metrics } = (row.metrics ?? {}) as Record<string, number>;
      const updated = { ...metrics, top1: score.top1, loss: score.loss, ...(score.top5 !== null ? { top5: score.top5 } : {}) };
      await tx.checkpoint.update({ where: { id }, data: { metrics: updated, metricsSource: { ...score.source } } });
      return true;
    });
  }

  /** Which of these digests have a blob row. */
  async recordedBlobs(sha256s: string[]): Promise<Set<string>> {
    if (sha256s.length === 0) return new Set();
    const rows = await this.prisma.client.blob.findMany({ where: { sha256: { in: sha256s } }, select: { sha256: true } });
    return new Set(rows.map((r) => r.sha256));
  }

  /** Removes the blob's bytes if no row records them (left by a crash between publish and insert). */
  async removeIfUnrecorded(sha256: string, removeBlob: (sha256: string) => Promise<void>): Promise<boolean> {
    return this.prisma.client.$transaction(async (tx) => {
      await lockBlob(tx, sha256);
      if ((await tx.blob.count({ where: { sha256 } })) > 0) return false;
      await removeBlob(sha256);
      return true;
    }, PUBLISH_TRANSACTION);
  }

  async blobStats(): Promise<{ count: number; bytes: number }> {
    const agg = await this.prisma.client.blob.aggregate({ _count: { _all: true }, _sum: { sizeBytes: true } });
    return { count: agg._count._all, bytes: Number(agg._sum.sizeBytes ?? 0) };
  }
}
