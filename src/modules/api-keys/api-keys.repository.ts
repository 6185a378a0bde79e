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

  /**
   * Revokes an active key, unless it is the last active key with the admin scope: revocations run
   * one at a time under a database-wide lock, so two admins revoking each other cannot both succeed.
   */
  async revoke(id: string): Promise<ApiKey | 'not-found' | 'last-admin'> {
    return this.prisma.client.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('weightsmith:api-key-revocation'))`;
      const key = await tx.apiKey.findFirst({ where: { id, revokedAt: null } });
      if (!key) return 'not-found';
      if (key.scopes.includes('admin')) {
        const otherAdmins = await tx.apiKey.count({ where: { id: { not: id }, revokedAt: null, scopes: { has: 'admin' } } });
        if (otherAdmins === 0) return 'last-admin';
      }
      return toApiKey(await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } }));
    });
  }
}
