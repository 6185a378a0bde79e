import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { projectRoot } from '../../src/core/io/project-root';

/** One HTTP response as a client received it. */
export interface ReceivedResponse {
  method: string;
  /** The OpenAPI path template, e.g. `/v1/checkpoints/{id}`. */
  path: string;
  status: number;
  /** The media type without parameters (null when the response has no body). */
  contentType: string | null;
  /** The parsed JSON body (for JSON media types), else ignored. */
  body: unknown;
  /** Response headers (any case); those in TRACKED_HEADERS must be documented for the response. */
  headers?: Record<string, string>;
}

/** Headers the API sends on purpose: a response that carries one must document it. */
export const TRACKED_HEADERS = [
  'location',
  'etag',
  'content-range',
  'accept-ranges',
  'content-disposition',
  'retry-after',
  'x-weightsmith-cache',
  'inference-header-content-length',
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const DOC_ID = 'openapi.json';

/**
 * Turns an OpenAPI 3.0 schema into JSON Schema that Ajv checks strictly: `nullable` follows the
 * 3.0.3 rule (it adds null to the `type` of its own schema and nothing else, so `allOf`, `oneOf`,
 * `$ref` or `enum` beside it still apply to null), component references point into the registered
 * document, and an object that lists its properties admits no others (a field the document does
 * not declare is a mismatch).
 */
function toJsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable' || key === 'example' || key === 'examples' || key === 'xml' || key === 'discriminator') continue;
    if (key === '$ref' && typeof value === 'string') out.$ref = value.startsWith('#/') ? `${DOC_ID}${value}` : value;
    else if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, toJsonSchema(s)]));
    } else out[key] = toJsonSchema(value);
  }
  if (out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

/**
 * Checks responses against the committed `openapi.json`: the status must be documented for the
 * operation, the media type must be one it declares, and a JSON body must match its schema.
 */
export class OpenApiResponseValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly paths: JsonObject;

  constructor(document: JsonObject = JSON.parse(readFileSync(join(projectRoot(), 'openapi.json'), 'utf8')) as JsonObject) {
    addFormats(this.ajv);
    this.ajv.addFormat('binary', true);
    this.ajv.addFormat('int64', true);
    const components = (document.components ?? {}) as JsonObject;
    this.ajv.addSchema({ $id: DOC_ID, components: { schemas: toJsonSchema(components.schemas ?? {}) } });
    this.paths = document.paths as JsonObject;
  }

  /** The problems found (empty when the response matches the document). */
  check(r: ReceivedResponse): string[] {
    const where = `${r.method.toUpperCase()} ${r.path} → ${r.status}`;
    const operation = (this.paths[r.path] as JsonObject | undefined)?.[r.method.toLowerCase()] as JsonObject | undefined;
    if (!operation) return [`${where}: the document has no such operation`];
    const responses = (operation.responses ?? {}) as JsonObject;
    const response = (responses[String(r.status)] ?? responses.default) as JsonObject | undefined;
    if (!response) return [`${where}: status not documented (documented: ${Object.keys(responses).join(', ')})`];
    return [...this.headerProblems(where, response, r), ...this.bodyProblems(where, response, r)];
  }

  private headerProblems(where: string, response: JsonObject, r: ReceivedResponse): string[] {
    const documented = new Set(Object.keys((response.headers ?? {}) as JsonObject).map((h) => h.toLowerCase()));
    return Object.keys(r.headers ?? {})
      .map((h) => h.toLowerCase())
      .filter((h) => TRACKED_HEADERS.includes(h) && !documented.has(h))
      .map((h) => `${where}: header ${h} not documented`);
  }

  private bodyProblems(where: string, response: JsonObject, r: ReceivedResponse): string[] {
    const content = response.content as JsonObject | undefined;
    if (!content || Object.keys(content).length === 0) {
      return r.contentType === null || r.body === undefined || r.body === '' ? [] : [`${where}: a body (${r.contentType}) where the document declares none`];
    }
    if (r.contentType === null) return [`${where}: no body where the document declares ${Object.keys(content).join(', ')}`];
    const media = content[r.contentType] as JsonObject | undefined;
    if (!media) return [`${where}: media type ${r.contentType} not declared (declared: ${Object.keys(content).join(', ')})`];
    if (!/json$/.test(r.contentType) || media.schema === undefined) return [];
    const key = `${r.method} ${r.path} ${r.status} ${r.contentType}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(media.schema) as object);
      this.compiled.set(key, validate);
    }
    if (validate(r.body)) return [];
    return (validate.errors ?? []).map((e) => `${where}: body${e.instancePath} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
  }

  /** Throws with every problem listed unless the response matches. */
  assert(r: ReceivedResponse): void {
    const problems = this.check(r);
    if (problems.length > 0) throw new Error(`response does not match openapi.json:\n${problems.join('\n')}`);
  }
}

/** The headers of a fetch Response as a plain object. */
export function headersOf(response: Response): Record<string, string> {
  return Object.fromEntries(response.headers.entries());
}

/** Media type of a response without parameters, or null when it has no body. */
export function mediaType(response: Response): string | null {
  const type = response.headers.get('content-type');
  return type ? type.split(';')[0].trim().toLowerCase() : null;
}
