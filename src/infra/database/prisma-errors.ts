import { Prisma } from '@prisma/client';

/**
 * Constraint violations as Prisma reports them (P2002/P2003), or as the PGlite driver adapter does:
 * it passes PostgreSQL's SQLSTATE through (`cause: { kind: 'postgres', code }`) without a P-code.
 */
function violates(e: unknown, prismaCode: string, sqlState: string): boolean {
  if (e instanceof Prisma.PrismaClientKnownRequestError) return e.code === prismaCode;
  const cause = e instanceof Error && e.name === 'DriverAdapterError' ? (e.cause as { kind?: unknown; code?: unknown } | undefined) : undefined;
  return cause?.kind === 'postgres' && cause.code === sqlState;
}

export function isForeignKeyViolation(e: unknown): boolean {
  return violates(e, 'P2003', '23503');
}

export function isUniqueViolation(e: unknown): boolean {
  return violates(e, 'P2002', '23505');
}
