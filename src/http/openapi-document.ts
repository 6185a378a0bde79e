import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * Marks an operation that needs no API key (set by `@Public()`). @nestjs/swagger drops an empty
 * security list, so it cannot say `security: []` itself; finishOpenApiDocument() turns the mark
 * into that and removes it.
 */
export const PUBLIC_OPERATION_EXTENSION = 'x-weightsmith-public';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The one step after @nestjs/swagger builds the document, for what its decorators cannot express:
 * public operations get `security: []` (overriding any bearer requirement from their controller).
 */
export function finishOpenApiDocument(doc: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(doc.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as (Record<string, unknown> & { security?: unknown }) | undefined;
      if (!operation || operation[PUBLIC_OPERATION_EXTENSION] !== true) continue;
      delete operation[PUBLIC_OPERATION_EXTENSION];
      operation.security = [];
    }
  }
  return doc;
}
