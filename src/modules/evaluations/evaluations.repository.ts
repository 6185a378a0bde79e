import { Injectable } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { referencesFrom } from '../../infra/references/reference-registry';
import type { Cursor } from '../../http/pagination';
import type { BatchNormMode, EvaluationOptions, EvaluationRecord, EvaluationSplit, NewEvaluation } from './evaluation.types';
import type { ClassificationMetrics } from '../../core/train/classification-metrics';

const include = { results: { orderBy: { createdAt: 'asc' } } } as const;
type Row = Prisma.EvaluationGetPayload<{ include: typeof include }>;

function toRecord(row: Row): EvaluationRecord {
  const order = new Map(row.checkpointIds.map((id, i) => [id, i]));
  return {
    id: row.id,
    datasetId: row.datasetId,
    split: row.split as EvaluationSplit,
    batchNorm: row.batchNorm as BatchNormMode,
    options: row.options as unknown as EvaluationOptions,
    checkpointIds: row.checkpointIds,
    jobId: row.jobId,
    createdAt: row.createdAt,
    results: row.results
      .map((r) => ({ checkpointId: r.checkpointId, top1: r.top1, top5: r.top5, loss: r.loss, count: r.count, createdAt: r.createdAt }))
      .sort((a, b) => (order.get(a.checkpointId) ?? 0) - (order.get(b.checkpointId) ?? 0)),
  };
}

@Injectable()
export class EvaluationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(input: NewEvaluation): Promise<EvaluationRecord> {
    const row = await this.prisma.client.evaluation.create({
      data: { datasetId: input.datasetId, split: input.split, batchNorm: input.batchNorm, options: { ...input.options }, checkpointIds: input.checkpointIds },
      include,
    });
    return toRecord(row);
  }

  async setJob(id: string, jobId: string): Promise<void> {
    await this.prisma.client.evaluation.update({ where: { id }, data: { jobId } });
  }

  async find(id: string): Promise<EvaluationRecord | null> {
    const row = await this.prisma.client.evaluation.findUnique({ where: { id }, include });
    return row ? toRecord(row) : null;
  }

  async list(filter: { checkpointId?: string; datasetId?: string }, limit: number, cursor?: Cursor): Promise<EvaluationRecord[]> {
    const rows = await this.prisma.client.evaluation.findMany({
      where: {
        ...(filter.checkpointId ? { checkpointIds: { has: filter.checkpointId } } : {}),
        ...(filter.datasetId ? { datasetId: filter.datasetId } : {}),
        ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include,
    });
    return rows.map(toRecord);
  }

  /** Evaluations of this dataset (they keep it). */
  usingDataset(datasetId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    const where = { datasetId };
    return referencesFrom(
      this.prisma.client.evaluation.findMany({ where, select: { id: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: limit }),
      this.prisma.client.evaluation.count({ where }),
      (r) => r.id,
    );
  }

  /** Evaluations of this checkpoint that have no results yet, with their jobs (the service checks which still run). */
  async unfinishedWithCheckpoint(checkpointId: string): Promise<{ id: string; jobId: string | null }[]> {
    return this.prisma.client.evaluation.findMany({
      where: { checkpointIds: { has: checkpointId }, results: { none: {} } },
      select: { id: true, jobId: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  /** Stores every checkpoint's result at once (a retried job that already stored them changes nothing). */
  async storeResults(id: string, results: (ClassificationMetrics & { checkpointId: string })[]): Promise<void> {
    await this.prisma.client.evaluationResult.createMany({
      data: results.map((r) => ({ evaluationId: id, checkpointId: r.checkpointId, top1: r.top1, top5: r.top5, loss: r.loss, count: r.count })),
      skipDuplicates: true,
    });
  }

  async delete(id: string): Promise<boolean> {
    const { count } = await this.prisma.client.evaluation.deleteMany({ where: { id } });
    return count > 0;
  }
}
