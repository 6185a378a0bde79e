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

  async count(): Promise<number> {
    return this.prisma.client.apiKey.count({ where: { revokedAt: null } });
  }

  async create(input: { name: string; prefix: string; hash: string; scopes: string[] }): Promise<ApiKey> {
    return toApiKey(await this.prisma.client.apiKey.create({ data: input }));
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
