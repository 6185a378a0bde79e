import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Prisma } from '@prisma/client';
import { CoreError } from '../../core/errors';
import type { GhnGraphJson } from '../../core/graph/ghn';
import type { GraphJson } from '../../core/graph/graph-json';
import { isForeignKeyViolation } from '../../infra/database/prisma-errors';
import { PrismaService } from '../../infra/database/prisma.service';
import type { Cursor } from '../../http/pagination';
import { ServiceError } from '../../core/service-error';
import type { Architecture, ArchitectureFilter, ArchitectureGraphs, ArchitectureSource, ArchitectureSummary, NewArchitecture } from './architecture.types';

/** Every column but the graphs, which can be megabytes: listings and lookups never load them. */
const metadata = {
  id: true,
  name: true,
  family: true,
  source: true,
  executable: true,
  modelClass: true,
  contentHash: true,
  summary: true,
  createdAt: true,
} as const;
type Row = Prisma.ArchitectureGetPayload<{ select: typeof metadata }>;

function toArchitecture(row: Row): Architecture {
  return {
    id: row.id,
    name: row.name,
    family: row.family,
    source: row.source as ArchitectureSource,
    executable: row.executable,
    modelClass: row.modelClass,
    contentHash: row.contentHash,
    summary: row.summary as unknown as ArchitectureSummary,
    createdAt: row.createdAt,
  };
}

/** JSON text for a jsonb column, which cannot hold the NUL character (nor can text columns). */
function jsonText(value: unknown): string | null {
  if (value === null) return null;
  const text = JSON.stringify(value);
  // `\u0000` after an even number of backslashes is an escaped NUL (after an odd number, literal text).
  if (/(?:^|[^\\])(?:\\\\)*\\u0000/.test(text)) throw new CoreError('GRAPH_INVALID', 'the graph contains a NUL character (\\u0000) in a string');
  return text;
}

function notFound(id: string): ServiceError {
  return new ServiceError('ARCHITECTURE_NOT_FOUND', `architecture ${id} does not exist`);
}

@Injectable()
export class ArchitecturesRepository {
  constructor(private readonly prisma: PrismaService) {}

  async findByContentHash(contentHash: string): Promise<Architecture | null> {
    const row = await this.prisma.client.architecture.findUnique({ where: { contentHash }, select: metadata });
    return row ? toArchitecture(row) : null;
  }

  /**
   * Inserts the architecture, or returns the existing one with the same content hash. Of two
   * identical concurrent inserts, the loser inserts nothing (ON CONFLICT) and returns the winner's row.
   */
  async createOrFind(input: NewArchitecture): Promise<{ architecture: Architecture; created: boolean }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.findByContentHash(input.contentHash);
      if (existing) return { architecture: existing, created: false };
      if (input.name.includes('\0')) throw new ServiceError('INVALID_FIELD', 'name: must not contain NUL characters', { field: 'name' });
      const id = randomUUID();
      // Graphs go in as JSON text: Prisma takes about 4x longer (on the event loop) to pass a
      // multi-megabyte Json value itself, e.g. 0.4-0.7 s for vit_h_14's 2.4 MB graph. created_at is
      // a timestamp without time zone holding UTC, as Prisma writes it, whatever the session's TimeZone.
      const inserted = await this.prisma.client.$queryRaw<{ id: string }[]>`
        INSERT INTO "architectures" ("id", "name", "family", "source", "executable", "model_class", "content_hash", "graph", "ghn_graph", "summary", "created_at")
        VALUES (${id}::uuid, ${input.name}, ${input.family}, ${input.source}, ${input.executable}, ${input.modelClass}, ${input.contentHash},
                ${jsonText(input.graph)}::jsonb, ${jsonText(input.ghnGraph)}::jsonb, ${jsonText(input.summary)}::jsonb, now() AT TIME ZONE 'UTC')
        ON CONFLICT ("content_hash") DO NOTHING
        RETURNING "id"`;
      const architecture = inserted.length > 0 ? await this.find(id) : await this.findByContentHash(input.contentHash);
      // Null only if the row was deleted in between: look again.
      if (architecture) return { architecture, created: inserted.length > 0 };
    }
    throw new Error(`architecture ${input.contentHash} was deleted while it was being stored, three times`);
  }

  async find(id: string): Promise<Architecture | null> {
    const row = await this.prisma.client.architecture.findUnique({ where: { id }, select: metadata });
    return row ? toArchitecture(row) : null;
  }

  async findWithGraphs(id: string): Promise<{ architecture: Architecture; graphs: ArchitectureGraphs } | null> {
    const row = await this.prisma.client.architecture.findUnique({ where: { id }, select: { ...metadata, graph: true, ghnGraph: true } });
    if (!row) return null;
    return {
      architecture: toArchitecture(row),
      graphs: { graph: row.graph as unknown as GraphJson | null, ghnGraph: row.ghnGraph as unknown as GhnGraphJson | null },
    };
  }

  async list(filter: ArchitectureFilter, limit: number, cursor?: Cursor): Promise<Architecture[]> {
    const rows = await this.prisma.client.architecture.findMany({
      where: {
        ...(filter.name ? { name: filter.name } : {}),
        ...(filter.family ? { family: filter.family } : {}),
        ...(filter.source ? { source: filter.source } : {}),
        ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      select: metadata,
    });
    return rows.map(toArchitecture);
  }

  async exists(id: string): Promise<boolean> {
    return (await this.prisma.client.architecture.count({ where: { id } })) > 0;
  }

  /**
   * Deletes an architecture (the service asked the reference registry first). A reference made
   * since then trips the foreign key (ON DELETE RESTRICT): 409; a concurrent delete leaves no row: 404.
   */
  async delete(id: string): Promise<void> {
    const deleted = await this.prisma.client.architecture.deleteMany({ where: { id } }).catch((e: unknown) => {
      throw isForeignKeyViolation(e) ? new ServiceError('ARCHITECTURE_IN_USE', `architecture ${id} became referenced while it was being deleted`) : e;
    });
    if (deleted.count === 0) throw notFound(id);
  }
}
