import { Injectable } from '@nestjs/common';
import type { Deployment as DeploymentRow } from '@prisma/client';
import { isForeignKeyViolation, isUniqueViolation } from '../../infra/database/prisma-errors';
import { PrismaService } from '../../infra/database/prisma.service';
import { ServiceError } from '../../core/service-error';
import type { BatchingSettings, EngineChoice } from './deployment.types';
import { referencesFrom } from '../../infra/references/reference-registry';

/** What is stored of a deployment: the request as resolved to ids, loaded again at every start. */
export interface DeploymentRecord {
  name: string;
  checkpointId: string;
  architectureId: string;
  engine: EngineChoice;
  backend: string | null;
  batching: BatchingSettings;
  createdAt: Date;
}

function toRecord(row: DeploymentRow): DeploymentRecord {
  return {
    name: row.name,
    checkpointId: row.checkpointId,
    architectureId: row.architectureId,
    engine: row.engine as EngineChoice,
    backend: row.backend,
    batching: { maxBatchSize: row.maxBatchSize, maxQueueDelayMs: row.maxQueueDelayMs, maxQueueSize: row.maxQueueSize, dynamicBatching: row.dynamicBatching },
    createdAt: row.createdAt,
  };
}

@Injectable()
export class DeploymentsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records a loaded deployment; a concurrent one of the same name loses with DEPLOYMENT_NAME_TAKEN. */
  async create(input: Omit<DeploymentRecord, 'createdAt'>): Promise<DeploymentRecord> {
    const row = await this.prisma.client.deployment
      .create({
        data: {
          name: input.name,
          checkpointId: input.checkpointId,
          architectureId: input.architectureId,
          engine: input.engine,
          backend: input.backend,
          ...input.batching,
        },
      })
      .catch((e: unknown) => {
        if (isUniqueViolation(e)) throw new ServiceError('DEPLOYMENT_NAME_TAKEN', `a deployment named '${input.name}' already exists`);
        if (isForeignKeyViolation(e)) throw new ServiceError('CHECKPOINT_NOT_FOUND', `checkpoint ${input.checkpointId} or architecture ${input.architectureId} was deleted while the model loaded`);
        throw e;
      });
    return toRecord(row);
  }

  /** Every stored deployment, oldest first (the order they are loaded in at start). */
  async list(): Promise<DeploymentRecord[]> {
    const rows = await this.prisma.client.deployment.findMany({ orderBy: [{ createdAt: 'asc' }, { name: 'asc' }] });
    return rows.map(toRecord);
  }

  /** Deployments serving this checkpoint. */
  async usingCheckpoint(checkpointId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    return this.names({ checkpointId }, limit);
  }

  /** Deployments of this architecture. */
  async usingArchitecture(architectureId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    return this.names({ architectureId }, limit);
  }

  private async names(where: { checkpointId?: string; architectureId?: string }, limit: number): Promise<{ ids: string[]; total: number }> {
    return referencesFrom(
      this.prisma.client.deployment.findMany({ where, select: { name: true }, orderBy: { name: 'asc' }, take: limit }),
      this.prisma.client.deployment.count({ where }),
      (r) => r.name,
    );
  }

  /** Removes the record; false when there was none. */
  async delete(name: string): Promise<boolean> {
    const { count } = await this.prisma.client.deployment.deleteMany({ where: { name } });
    return count > 0;
  }
}
