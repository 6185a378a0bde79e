import { Injectable } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import { layoutDifferences, type PopulationVariant, type TensorLayoutEntry } from '../../core/averaging/population-pull';
import { ServiceError } from '../../core/service-error';
import { lockBlob, recordBlob, releaseBlobRow } from '../../infra/database/blob-rows';
import { PrismaService } from '../../infra/database/prisma.service';
import type { Cursor } from '../../http/pagination';
import type { NewPopulation, PopulationMemberRecord, PopulationMode, PopulationRecord, PopulationSnapshot } from './population.types';

/** Publishing to S3 may take a while inside the push's transaction. */
const TRANSACTION = { maxWait: 60_000, timeout: 3600_000 };

type PopulationRow = Prisma.PopulationGetPayload<object>;
type MemberRow = Prisma.PopulationMemberGetPayload<object>;

function toRecord(row: PopulationRow): PopulationRecord {
  return {
    id: row.id,
    name: row.name,
    mode: row.mode as PopulationMode,
    size: row.size,
    variant: row.variant as PopulationVariant,
    alpha: row.alpha,
    every: row.every,
    seed: row.seed,
    staleAfterSeconds: row.staleAfterSeconds,
    architectureId: row.architectureId,
    layout: (row.layout ?? null) as unknown as TensorLayoutEntry[] | null,
    version: row.version,
    createdAt: row.createdAt,
  };
}

function toMember(row: MemberRow): PopulationMemberRecord {
  return { k: row.k, step: row.step, version: row.version, sha256: row.blobSha256, sizeBytes: Number(row.sizeBytes), pushedAt: row.pushedAt };
}

export interface PushInput {
  populationId: string;
  k: number;
  step: number;
  sha256: string;
  sizeBytes: number;
  layout: TensorLayoutEntry[];
  pushedAt: Date;
  /** Members that pushed before this instant are stale: left out of the snapshot. */
  activeSince: Date;
  /** When the snapshot's hold on its versions lapses if it is never released (a process that died). */
  readExpiresAt: Date;
}

/**
 * Populations, their members' latest versions, the versions replaced while a snapshot may still
 * read them, and the snapshots being read. Every write to a population holds its row lock (FOR
 * UPDATE; snapshots take FOR SHARE), so that pushes are serialized per population across replicas
 * and a replaced version is never removed while a snapshot that lists it is recorded.
 */
@Injectable()
export class PopulationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(input: NewPopulation): Promise<PopulationRecord> {
    return toRecord(await this.prisma.client.population.create({ data: { ...input } }));
  }

  async find(id: string): Promise<PopulationRecord | null> {
    const row = await this.prisma.client.population.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  async list(limit: number, cursor?: Cursor): Promise<PopulationRecord[]> {
    const rows = await this.prisma.client.population.findMany({
      where: cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {},
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
    return rows.map(toRecord);
  }

  async members(populationId: string): Promise<PopulationMemberRecord[]> {
    const rows = await this.prisma.client.populationMember.findMany({ where: { populationId }, orderBy: { k: 'asc' } });
    return rows.map(toMember);
  }

  /**
   * Records a push in one transaction under the population's row lock: checks the layout (the
   * first push sets it), publishes and records the bytes (`publishBlob`, under the per-blob lock),
   * gives the member the next version, keeps its previous version as retired, and reads the
   * snapshot of the latest active versions, recorded as a read that holds them.
   */
  async push(input: PushInput, publishBlob: () => Promise<void>): Promise<{ version: number; snapshot: PopulationSnapshot }> {
    return this.prisma.client.$transaction(async (tx) => {
      const population = await lockPopulation(tx, input.populationId, 'UPDATE');
      if (population.layout) {
        const differences = layoutDifferences(population.layout, input.layout);
        if (differences.length > 0) throw layoutMismatch(differences);
      }
      await lockBlob(tx, input.sha256);
      await publishBlob();
      await recordBlob(tx, input.sha256, input.sizeBytes);
      const version = population.version + 1;
      await tx.population.update({
        where: { id: input.populationId },
        data: { version, ...(population.layout ? {} : { layout: input.layout as unknown as Prisma.InputJsonValue }) },
      });
      const key = { populationId_k: { populationId: input.populationId, k: input.k } };
      const previous = await tx.populationMember.findUnique({ where: key });
      if (previous) await tx.populationRetiredVersion.create({ data: { populationId: input.populationId, version: previous.version, k: input.k, blobSha256: previous.blobSha256 } });
      const fields = { step: input.step, version, blobSha256: input.sha256, sizeBytes: BigInt(input.sizeBytes), pushedAt: input.pushedAt };
      await tx.populationMember.upsert({ where: key, create: { populationId: input.populationId, k: input.k, ...fields }, update: fields });
      return { version, snapshot: await recordSnapshot(tx, input.populationId, input.activeSince, input.readExpiresAt) };
    }, TRANSACTION);
  }

  /** The latest active versions, read in one transaction and held until `release`. */
  async snapshot(populationId: string, window: { activeSince: Date; readExpiresAt: Date }): Promise<PopulationSnapshot> {
    return this.prisma.client.$transaction(async (tx) => {
      await lockPopulation(tx, populationId, 'SHARE');
      return recordSnapshot(tx, populationId, window.activeSince, window.readExpiresAt);
    }, TRANSACTION);
  }

  /**
   * Ends a read (`readId`) and removes the retired versions that no unexpired read lists any
   * more, with their bytes (`removeBlob`, under the per-blob lock) when nothing else records them.
   * Returns how many versions went.
   */
  async release(populationId: string, readId: string, now: Date, removeBlob: (sha256: string) => Promise<void>): Promise<number> {
    return this.prisma.client.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM populations WHERE id = ${populationId}::uuid FOR UPDATE`;
      if (rows.length === 0) return 0;
      await tx.populationRead.deleteMany({ where: { OR: [{ id: readId }, { populationId, expiresAt: { lt: now } }] } });
      const held = new Set((await tx.populationRead.findMany({ where: { populationId }, select: { versions: true } })).flatMap((r) => r.versions));
      const retired = await tx.populationRetiredVersion.findMany({ where: { populationId } });
      const garbage = retired.filter((r) => !held.has(r.version));
      if (garbage.length === 0) return 0;
      await tx.populationRetiredVersion.deleteMany({ where: { populationId, version: { in: garbage.map((r) => r.version) } } });
      await releaseBlobs(tx, garbage.map((r) => r.blobSha256), removeBlob);
      return garbage.length;
    }, TRANSACTION);
  }

  /** Deletes the population with its members, and their bytes when nothing else records them. */
  async delete(id: string, removeBlob: (sha256: string) => Promise<void>): Promise<void> {
    await this.prisma.client.$transaction(async (tx) => {
      await lockPopulation(tx, id, 'UPDATE');
      const members = await tx.populationMember.findMany({ where: { populationId: id }, select: { blobSha256: true } });
      const retired = await tx.populationRetiredVersion.findMany({ where: { populationId: id }, select: { blobSha256: true } });
      await tx.population.delete({ where: { id } });
      await releaseBlobs(tx, [...members, ...retired].map((r) => r.blobSha256), removeBlob);
    }, TRANSACTION);
  }
}

/** Locks the population's row (FOR UPDATE or FOR SHARE) and returns what a push needs of it. */
async function lockPopulation(tx: Prisma.TransactionClient, id: string, mode: 'UPDATE' | 'SHARE'): Promise<{ version: number; layout: TensorLayoutEntry[] | null }> {
  const rows =
    mode === 'UPDATE'
      ? await tx.$queryRaw<{ version: number; layout: unknown }[]>`SELECT version, layout FROM populations WHERE id = ${id}::uuid FOR UPDATE`
      : await tx.$queryRaw<{ version: number; layout: unknown }[]>`SELECT version, layout FROM populations WHERE id = ${id}::uuid FOR SHARE`;
  if (rows.length === 0) throw new ServiceError('POPULATION_NOT_FOUND', `population ${id} does not exist`);
  return { version: Number(rows[0].version), layout: (rows[0].layout ?? null) as TensorLayoutEntry[] | null };
}

async function recordSnapshot(tx: Prisma.TransactionClient, populationId: string, activeSince: Date, expiresAt: Date): Promise<PopulationSnapshot> {
  const rows = await tx.populationMember.findMany({ where: { populationId, pushedAt: { gte: activeSince } }, orderBy: { k: 'asc' } });
  const read = await tx.populationRead.create({ data: { populationId, versions: rows.map((r) => r.version), expiresAt }, select: { id: true } });
  return { readId: read.id, members: rows.map(toMember) };
}

async function releaseBlobs(tx: Prisma.TransactionClient, sha256s: string[], removeBlob: (sha256: string) => Promise<void>): Promise<void> {
  for (const sha of [...new Set(sha256s)].sort()) {
    await lockBlob(tx, sha);
    if (await releaseBlobRow(tx, sha)) await removeBlob(sha);
  }
}

export function layoutMismatch(differences: string[]): ServiceError {
  return new ServiceError('POPULATION_LAYOUT_MISMATCH', `the weights do not match the population's tensor layout: ${differences.join('; ')}`, { differences });
}
