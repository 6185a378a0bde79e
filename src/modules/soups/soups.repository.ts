import { Injectable } from '@nestjs/common';
import { Prisma } from '@prisma/client';
import type { Cursor } from '../../http/pagination';
import { PrismaService } from '../../infra/database/prisma.service';
import type { EvaluationOptions, EvaluationSplit } from '../evaluations/evaluation.types';
import type { AppliedBatchNormPolicy, BatchNormPolicy, NewSoup, Soup, SoupReport, SoupRequestMethod, StoredRecipe } from './soup.types';

type Row = Prisma.SoupGetPayload<object>;

function toSoup(row: Row): Soup {
  return {
    id: row.id,
    name: row.name,
    method: row.method as SoupRequestMethod,
    checkpointIds: row.checkpointIds,
    baseCheckpointId: row.baseCheckpointId,
    parameters: row.parameters as Record<string, unknown>,
    recipe: row.recipe as unknown as StoredRecipe,
    datasetId: row.datasetId,
    split: row.split as EvaluationSplit | null,
    batchNormRequested: row.batchNormRequested as BatchNormPolicy | null,
    batchNormUsed: row.batchNormUsed as AppliedBatchNormPolicy,
    options: row.options as unknown as EvaluationOptions,
    report: (row.report as unknown as SoupReport | null) ?? null,
    jobId: row.jobId,
    resultCheckpointId: row.resultCheckpointId,
    createdAt: row.createdAt,
  };
}

const json = (value: unknown): Prisma.InputJsonValue => value as Prisma.InputJsonValue;

@Injectable()
export class SoupsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(input: NewSoup): Promise<Soup> {
    const row = await this.prisma.client.soup.create({
      data: {
        name: input.name,
        method: input.method,
        checkpointIds: input.checkpointIds,
        baseCheckpointId: input.baseCheckpointId,
        parameters: json(input.parameters),
        recipe: json(input.recipe),
        datasetId: input.datasetId,
        split: input.split,
        batchNormRequested: input.batchNormRequested,
        batchNormUsed: input.batchNormUsed,
        options: json(input.options),
      },
    });
    return toSoup(row);
  }

  async find(id: string): Promise<Soup | null> {
    const row = await this.prisma.client.soup.findUnique({ where: { id } });
    return row ? toSoup(row) : null;
  }

  async setJob(id: string, jobId: string): Promise<void> {
    await this.prisma.client.soup.update({ where: { id }, data: { jobId } });
  }

  async storeResult(id: string, resultCheckpointId: string, report: SoupReport): Promise<void> {
    await this.prisma.client.soup.update({ where: { id }, data: { resultCheckpointId, report: json(report) } });
  }

  /** Soups without a result that use this checkpoint (ingredient or base), with their jobs (the service checks which still run). */
  unfinishedWithCheckpoint(checkpointId: string): Promise<{ id: string; jobId: string | null }[]> {
    return this.unfinished({ OR: [{ checkpointIds: { has: checkpointId } }, { baseCheckpointId: checkpointId }] });
  }

  unfinishedWithDataset(datasetId: string): Promise<{ id: string; jobId: string | null }[]> {
    return this.unfinished({ datasetId });
  }

  private unfinished(where: Prisma.SoupWhereInput): Promise<{ id: string; jobId: string | null }[]> {
    return this.prisma.client.soup.findMany({
      where: { ...where, report: { equals: Prisma.DbNull } },
      select: { id: true, jobId: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  async list(filter: { checkpointId?: string; method?: string }, limit: number, cursor?: Cursor): Promise<Soup[]> {
    const rows = await this.prisma.client.soup.findMany({
      where: {
        ...(filter.checkpointId ? { OR: [{ checkpointIds: { has: filter.checkpointId } }, { baseCheckpointId: filter.checkpointId }, { resultCheckpointId: filter.checkpointId }] } : {}),
        ...(filter.method ? { method: filter.method } : {}),
        ...(cursor ? { AND: [{ OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
    return rows.map(toSoup);
  }
}
