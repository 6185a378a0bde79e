import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * Marks an operation that needs no API key (set by `@Public()`). @nestjs/swagger drops an empty
 * security list, so it cannot say `security: []` itself; finishOpenApiDocument() turns the mark
 * into that and removes it.
 */
export const PUBLIC_OPERATION_EXTENSION = 'x-weightsmith-public';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type SchemaObject = Record<string, unknown>;

/**
 * OpenAPI 3.0.3 lets `nullable` add null only to the `type` of its own schema: beside
 * `allOf: [$ref]` (what `@ApiProperty({ type: SomeDto, nullable: true })` makes) the referenced
 * schema still refuses null, so strict validators and generated clients reject a null the API
 * sends. Such a property becomes the referenced object schema itself, nullable; a component left
 * unreferenced by that is removed.
 */
function inlineNullableReferences(doc: OpenAPIObject): void {
  const schemas = (doc.components?.schemas ?? {}) as Record<string, SchemaObject>;
  const inlined = new Set<string>();
  // Walks every schema, including the copies it makes, so nested nullable references go too.
  const visit = (schema: SchemaObject, depth: number): void => {
    const properties = (schema.properties ?? {}) as Record<string, SchemaObject>;
    for (const [name, property] of Object.entries(properties)) {
      const refs = property.allOf as SchemaObject[] | undefined;
      if (property.nullable === true && refs?.length === 1 && typeof refs[0].$ref === 'string') {
        const targetName = refs[0].$ref.replace('#/components/schemas/', '');
        const target = schemas[targetName];
        if (target?.type === 'object') {
          const { allOf: _allOf, ...rest } = property;
          properties[name] = { ...structuredClone(target), ...rest, type: 'object', nullable: true };
          inlined.add(targetName);
        }
      }
      if (depth < 8) visit(properties[name], depth + 1);
    }
  };
  for (const schema of Object.values(schemas)) visit(schema, 0);
  const text = JSON.stringify(doc);
  for (const name of inlined) if (!text.includes(`"#/components/schemas/${name}"`)) delete schemas[name];
}

/**
 * The one step after @nestjs/swagger builds the document, for what its decorators cannot express:
 * public operations get `security: []` (overriding any bearer requirement from their controller),
 * and nullable references become nullable object schemas (see inlineNullableReferences).
 */
export function finishOpenApiDocument(doc: OpenAPIObject): OpenAPIObject {
  inlineNullableReferences(doc);
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
