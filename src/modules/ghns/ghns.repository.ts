import { Injectable } from '@nestjs/common';
import { Prisma } from '@prisma/client';
import { isForeignKeyViolation, isUniqueViolation } from '../../infra/database/prisma-errors';
import { PrismaService } from '../../infra/database/prisma.service';
import type { Cursor } from '../../http/pagination';
import type { GhnConfigDocument, GhnFilter, GhnModel, GhnSource, NewGhnModel } from './ghn.types';
import { ghnInUse, ghnNameTaken, ghnNotFound } from './ghns.errors';

const include = { checkpoint: { select: { parameterCount: true } } } as const;
type Row = Prisma.GhnModelGetPayload<{ include: typeof include }>;

function toGhnModel(row: Row): GhnModel {
  return {
    id: row.id,
    name: row.name,
    checkpointId: row.checkpointId,
    config: row.config as unknown as GhnConfigDocument,
    source: row.source as GhnSource,
    sourceSha256: row.sourceSha256,
    parameterCount: Number(row.checkpoint.parameterCount),
    createdAt: row.createdAt,
  };
}

@Injectable()
export class GhnsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records a GHN; a concurrent insert of the same name loses with GHN_NAME_TAKEN. */
  async create(input: NewGhnModel): Promise<GhnModel> {
    const row = await this.prisma.client.ghnModel
      .create({
        data: {
          name: input.name,
          checkpointId: input.checkpointId,
          config: input.config as unknown as Prisma.InputJsonValue,
          source: input.source,
          sourceSha256: input.sourceSha256,
        },
        include,
      })
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? ghnNameTaken(input.name) : e;
      });
    return toGhnModel(row);
  }

  async find(id: string): Promise<GhnModel | null> {
    const row = await this.prisma.client.ghnModel.findUnique({ where: { id }, include });
    return row ? toGhnModel(row) : null;
  }

  async findByName(name: string): Promise<GhnModel | null> {
    const row = await this.prisma.client.ghnModel.findUnique({ where: { name }, include });
    return row ? toGhnModel(row) : null;
  }

  async latest(): Promise<GhnModel | null> {
    const row = await this.prisma.client.ghnModel.findFirst({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], include });
    return row ? toGhnModel(row) : null;
  }

  async list(filter: GhnFilter, limit: number, cursor?: Cursor): Promise<GhnModel[]> {
    const rows = await this.prisma.client.ghnModel.findMany({
      where: {
        ...(filter.name ? { name: filter.name } : {}),
        ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include,
    });
    return rows.map(toGhnModel);
  }

  /** The GHN (at most one) whose weights are this checkpoint. */
  async usingCheckpoint(checkpointId: string, _limit: number): Promise<{ ids: string[]; total: number }> {
    const row = await this.prisma.client.ghnModel.findUnique({ where: { checkpointId }, select: { id: true } });
    return row ? { ids: [row.id], total: 1 } : { ids: [], total: 0 };
  }

  /**
   * Deletes a GHN and returns its weights' checkpoint id (the service asked the reference registry
   * first). The foreign key (ON DELETE RESTRICT) settles the race with a reference made meanwhile.
   */
  async delete(id: string): Promise<{ checkpointId: string }> {
    return this.prisma.client.$transaction(async (tx) => {
      const row = await tx.ghnModel.findUnique({ where: { id }, select: { checkpointId: true } });
      if (!row) throw ghnNotFound(id);
      const deleted = await tx.ghnModel.deleteMany({ where: { id } }).catch((e: unknown) => {
        throw isForeignKeyViolation(e) ? ghnInUse(id, []) : e;
      });
      if (deleted.count === 0) throw ghnNotFound(id);
      return { checkpointId: row.checkpointId };
    });
  }
}
