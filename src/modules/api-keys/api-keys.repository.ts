import { Injectable } from '@nestjs/common';
import type { ApiKey as ApiKeyRow } from '@prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import type { ApiKey } from './api-key.types';

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(input: { name: string; prefix: string; hash: string; scopes: string[] }): Promise<ApiKey> {
    return toApiKey(await this.prisma.client.apiKey.create({ data: input }));
  }

  /** Stores the key unless one with this hash exists (active or revoked); true when it was stored. Safe for replicas starting together. */
  async createIfAbsent(input: { name: string; prefix: string; hash: string; scopes: string[] }): Promise<boolean> {
    const { count } = await this.prisma.client.apiKey.createMany({ data: [input], skipDuplicates: true });
    return count === 1;
  }

  /** Stores the key only if no active key exists, under a database-wide lock: of replicas starting together, one makes the first key. */
  async createFirst(input: { name: string; prefix: string; hash: string; scopes: string[] }): Promise<boolean> {
    return this.prisma.client.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('weightsmith:first-api-key'))`;
      if ((await tx.apiKey.count({ where: { revokedAt: null } })) > 0) return false;
      await tx.apiKey.create({ data: input });
      return true;
    });
  }

  async findActiveByHash(hash: string): Promise<ApiKey | null> {
    const row = await this.prisma.client.apiKey.findFirst({ where: { hash, revokedAt: null } });
    return row ? toApiKey(row) : null;
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.prisma.client.apiKey.update({ where: { id }, data: { lastUsedAt: at } });
  }

  async list(): Promise<ApiKey[]> {
    return (await this.prisma.client.apiKey.findMany({ orderBy: { createdAt: 'asc' } })).map(toApiKey);
  }

  async revoke(id: string): Promise<ApiKey | null> {
    const res = await this.prisma.client.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    if (res.count === 0) return null;
    const row = await this.prisma.client.apiKey.findUnique({ where: { id } });
    return row ? toApiKey(row) : null;
  }
}
