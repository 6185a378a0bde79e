import { Global, Injectable, Module } from '@nestjs/common';

/** Resources that others refer to, and that cannot be deleted while they do. */
export type ReferencedResource = 'architecture' | 'checkpoint' | 'ghn' | 'dataset';

/** Who refers to one resource: the referrers of one kind (the first ones listed, and how many in all). */
export interface References {
  /** What refers, e.g. `checkpoint`, `deployment`, `job`, `initialization`, `ghn`. */
  kind: string;
  ids: string[];
  total: number;
}

/** Lists the referrers of one kind to the resource with this id (at most `limit` ids). */
export type ReferenceFinder = (id: string, limit: number) => Promise<{ ids: string[]; total: number }>;

/**
 * What blocks deleting an architecture, a checkpoint, a GHN or a dataset, told by the modules that hold the
 * references: each registers a finder for the resources its rows point to (deployments for
 * checkpoints and architectures, jobs for checkpoints, ...). The owner of a resource asks here
 * before deleting it and never reads other features' tables itself. Foreign keys still settle a
 * reference made between the check and the delete.
 */
@Injectable()
export class ReferenceRegistry {
  private readonly finders = new Map<ReferencedResource, { kind: string; find: ReferenceFinder }[]>();

  register(target: ReferencedResource, kind: string, find: ReferenceFinder): void {
    const list = this.finders.get(target) ?? [];
    if (list.some((f) => f.kind === kind)) throw new Error(`references of ${kind} to ${target} registered twice`);
    list.push({ kind, find });
    this.finders.set(target, list);
  }

  /** Every kind of referrer that has at least one reference to the resource. */
  async find(target: ReferencedResource, id: string, limit = 20): Promise<References[]> {
    const found = await Promise.all((this.finders.get(target) ?? []).map(async (f) => ({ kind: f.kind, ...(await f.find(id, limit)) })));
    return found.filter((r) => r.total > 0);
  }
}

/** A finder's answer from two queries run together: the first rows (as ids) and the count. */
export async function referencesFrom<R>(rows: PromiseLike<R[]>, total: PromiseLike<number>, idOf: (row: R) => string): Promise<{ ids: string[]; total: number }> {
  const [found, count] = await Promise.all([rows, total]);
  return { ids: found.map(idOf), total: count };
}

/** "2 checkpoint(s) and 1 deployment(s)". */
export function describeReferences(refs: readonly References[]): string {
  const parts = refs.map((r) => `${r.total} ${r.kind}(s)`);
  return parts.length <= 1 ? (parts[0] ?? 'nothing') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** The error details of a refused delete: `{ references: { deployment: [...], ... } }`. */
export function referenceDetails(refs: readonly References[]): { references: Record<string, string[]> } {
  return { references: Object.fromEntries(refs.map((r) => [r.kind, r.ids])) };
}

@Global()
@Module({ providers: [ReferenceRegistry], exports: [ReferenceRegistry] })
export class ReferencesModule {}
