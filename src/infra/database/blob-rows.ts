import type { Prisma } from '@prisma/client';

/**
 * The `blobs` table is shared: a checkpoint or a dataset records the bytes it lives in by sha256,
 * and identical bytes share one row. Every writer and remover holds the per-blob advisory lock for
 * its transaction, so that publishing, recording and removing one digest never interleave.
 */
export async function lockBlob(tx: Prisma.TransactionClient, sha256: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${sha256}))`;
}

/** Records published bytes (a no-op when a row already records them). Call under `lockBlob`. */
export async function recordBlob(tx: Prisma.TransactionClient, sha256: string, sizeBytes: number): Promise<void> {
  await tx.blob.upsert({ where: { sha256 }, create: { sha256, sizeBytes: BigInt(sizeBytes) }, update: {} });
}

/**
 * Deletes the blob row once no checkpoint, dataset or population member (latest or retired
 * version) records the bytes; true when it did (the caller then removes the bytes, still under
 * `lockBlob`). Every table that points at blobs is
 * counted here, so that removing one user never takes bytes another still needs.
 */
export async function releaseBlobRow(tx: Prisma.TransactionClient, sha256: string): Promise<boolean> {
  const row = await tx.blob.findUnique({
    where: { sha256 },
    select: { _count: { select: { checkpoints: true, datasets: true, populationMembers: true, populationRetired: true } } },
  });
  const c = row?._count;
  if (!c || c.checkpoints + c.datasets + c.populationMembers + c.populationRetired > 0) return false;
  await tx.blob.delete({ where: { sha256 } });
  return true;
}
