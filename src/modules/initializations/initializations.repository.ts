import { Injectable } from '@nestjs/common';
import { Prisma } from '@prisma/client';
import { isUniqueViolation } from '../../infra/database/prisma-errors';
import { PrismaService } from '../../infra/database/prisma.service';
import type { Cursor } from '../../http/pagination';
import type { Initialization, InitializationFilter, InitializationMethod, InitializationOptions, NewInitialization } from './initialization.types';
import { referencesFrom } from '../../infra/references/reference-registry';

type Row = Prisma.InitializationGetPayload<object>;

function toInitialization(row: Row): Initialization {
  return {
    id: row.id,
    cacheKey: row.cacheKey,
    architectureId: row.architectureId,
    method: row.method as InitializationMethod,
    ghnId: row.ghnId,
    options: row.options as unknown as InitializationOptions,
    checkpointId: row.checkpointId,
    jobId: row.jobId,
    createdAt: row.createdAt,
  };
}

@Injectable()
export class InitializationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts the row that claims a cache key; null when another request holds that key already. */
  async claim(input: NewInitialization): Promise<Initialization | null> {
    try {
      const row = await this.prisma.client.initialization.create({
        data: {
          cacheKey: input.cacheKey,
          architectureId: input.architectureId,
          method: input.method,
          ghnId: input.ghnId,
          options: input.options as unknown as Prisma.InputJsonValue,
          jobId: input.jobId,
        },
      });
      return toInitialization(row);
    } catch (e) {
      if (isUniqueViolation(e)) return null;
      throw e;
    }
  }

  async find(id: string): Promise<Initialization | null> {
    const row = await this.prisma.client.initialization.findUnique({ where: { id } });
    return row ? toInitialization(row) : null;
  }

  async findByCacheKey(cacheKey: string): Promise<Initialization | null> {
    const row = await this.prisma.client.initialization.findUnique({ where: { cacheKey } });
    return row ? toInitialization(row) : null;
  }

  async setJob(id: string, jobId: string): Promise<void> {
    await this.prisma.client.initialization.updateMany({ where: { id }, data: { jobId } });
  }

  /** Initializations predicted by this GHN. */
  async usingGhn(ghnId: string, limit: number): Promise<{ ids: string[]; total: number }> {
    const where = { ghnId };
    return referencesFrom(
      this.prisma.client.initialization.findMany({ where, select: { id: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: limit }),
      this.prisma.client.initialization.count({ where }),
      (r) => r.id,
    );
  }

  /** Records the result; false when the row is gone (deleted meanwhile) or already has one. */
  async complete(id: string, checkpointId: string): Promise<boolean> {
    const { count } = await this.prisma.client.initialization.updateMany({ where: { id, checkpointId: null }, data: { checkpointId } });
    return count === 1;
  }

  /** Removes a row that never got its checkpoint (a failed computation), so the key can be claimed again. */
  async releasePending(id: string): Promise<void> {
    await this.prisma.client.initialization.deleteMany({ where: { id, checkpointId: null } });
  }

  async list(filter: InitializationFilter, limit: number, cursor?: Cursor): Promise<Initialization[]> {
    const rows = await this.prisma.client.initialization.findMany({
      where: {
        ...(filter.architectureId ? { architectureId: filter.architectureId } : {}),
        ...(filter.method ? { method: filter.method } : {}),
        ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
    return rows.map(toInitialization);
  }
}
