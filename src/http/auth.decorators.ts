import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { PUBLIC_OPERATION_EXTENSION } from './openapi-document';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const PUBLIC_ROUTE = 'weightsmith:public';
export const REQUIRED_SCOPE = 'weightsmith:scope';

/** No API key needed (health, metrics, docs); the OpenAPI document says `security: []` for it. */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(PUBLIC_ROUTE, true), ApiExtension(PUBLIC_OPERATION_EXTENSION, true)) as MethodDecorator & ClassDecorator;

/** Overrides the default scope (GET/HEAD need `read`, other methods `write`). */
export const RequireScope = (scope: Scope): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_SCOPE, scope);

/** admin ⊃ write ⊃ read. */
export function scopeSatisfies(granted: readonly string[], required: Scope): boolean {
  const rank: Record<string, number> = { read: 1, write: 2, admin: 3 };
  return granted.some((g) => (rank[g] ?? 0) >= rank[required]);
}
