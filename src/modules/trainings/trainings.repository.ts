import { Injectable } from '@nestjs/common';
import { Prisma } from '@prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { referencesFrom } from '../../infra/references/reference-registry';
import type { Cursor } from '../../http/pagination';
import type { CurvePoint, NewTraining, Training, TrainingFilter, TrainingProgress, TrainingSettings } from './training.types';

type Row = Prisma.TrainingGetPayload<object>;

function toTraining(row: Row): Training {
  return {
    id: row.id,
    name: row.name,
    architectureId: row.architectureId,
    startCheckpointId: row.startCheckpointId,
    initializationId: row.initializationId,
    datasetId: row.datasetId,
    settings: row.config as unknown as TrainingSettings,
    jobId: row.jobId,
    stateCheckpointId: row.stateCheckpointId,
    progress: (row.progress as unknown as TrainingProgress | null) ?? null,
    curve: row.curve as unknown as CurvePoint[],
    savedCheckpointIds: row.savedCheckpointIds,
    createdAt: row.createdAt,
  };
}

const json = (value: unknown): Prisma.InputJsonValue => value as Prisma.InputJsonValue;

@Injectable()
export class TrainingsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(input: NewTraining): Promise<Training> {
    const row = await this.prisma.client.training.create({
      data: {
        name: input.name,
        architectureId: input.architectureId,
        startCheckpointId: input.startCheckpointId,
        initializationId: input.initializationId,
        datasetId: input.datasetId,
        config: json(input.settings),
      },
    });
    return toTraining(row);
  }

  async find(id: string): Promise<Training | null> {
    const row = await this.prisma.client.training.findUnique({ where: { id } });
    return row ? toTraining(row) : null;
  }

  async setJob(id: string, jobId: string): Promise<void> {
    await this.prisma.client.training.update({ where: { id }, data: { jobId } });
  }

  async setStart(id: string, startCheckpointId: string): Promise<void> {
    await this.prisma.client.training.update({ where: { id }, data: { startCheckpointId } });
  }

  async setProgress(id: string, progress: TrainingProgress): Promise<void> {
    await this.prisma.client.training.update({ where: { id }, data: { progress: json(progress) } });
  }

  /** Replaces the run's resumable state (and the curve saved with it, when given); returns the one it replaced (to be removed). */
  async replaceState(id: string, stateCheckpointId: string | null, curve?: CurvePoint[]): Promise<string | null> {
    return this.prisma.client.$transaction(async (tx) => {
      const before = await tx.training.findUniqueOrThrow({ where: { id }, select: { stateCheckpointId: true } });
      await tx.training.update({ where: { id }, data: { stateCheckpointId, ...(curve ? { curve: json(curve) } : {}) } });
      return before.stateCheckpointId;
    });
  }

  async setCurve(id: string, curve: CurvePoint[]): Promise<void> {
    await this.prisma.client.training.update({ where: { id }, data: { curve: json(curve) } });
  }

  async setSaved(id: string, savedCheckpointIds: string[]): Promise<void> {
    await this.prisma.client.training.update({ where: { id }, data: { savedCheckpointIds } });
  }

  /** Forgets everything a run stored (a cancelled or restarted run): returns the checkpoints to remove. */
  async reset(id: string): Promise<string[]> {
    return this.prisma.client.$transaction(async (tx) => {
      const row = await tx.training.findUniqueOrThrow({ where: { id } });
      await tx.training.update({ where: { id }, data: { stateCheckpointId: null, savedCheckpointIds: [], curve: json([]), progress: Prisma.DbNull } });
      return [...row.savedCheckpointIds, ...(row.stateCheckpointId ? [row.stateCheckpointId] : [])];
    });
  }

  async delete(id: string): Promise<void> {
    await this.prisma.client.training.delete({ where: { id } });
  }

  /** Trainings that start from this checkpoint. */
  usingCheckpoint(checkpointId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    return this.referrers({ startCheckpointId: checkpointId }, limit);
  }

  /** Trainings on this dataset. */
  usingDataset(datasetId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    return this.referrers({ datasetId }, limit);
  }

  private referrers(where: Prisma.TrainingWhereInput, limit: number): Promise<{ ids: string[]; total: number }> {
    return referencesFrom(
      this.prisma.client.training.findMany({ where, select: { id: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: limit }),
      this.prisma.client.training.count({ where }),
      (r) => r.id,
    );
  }

  async list(filter: TrainingFilter, limit: number, cursor?: Cursor): Promise<Training[]> {
    const rows = await this.prisma.client.training.findMany({
      where: {
        ...(filter.datasetId ? { datasetId: filter.datasetId } : {}),
        ...(filter.startCheckpointId ? { startCheckpointId: filter.startCheckpointId } : {}),
        ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
    return rows.map(toTraining);
  }
}
