import { ServiceError } from '../../core/service-error';

export interface UploadFields {
  name: string;
  architectureId: string | null;
  tags: string[];
  metrics: Record<string, number>;
  parentIds: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,99}$/;
const KNOWN = new Set(['name', 'architectureId', 'tags', 'metrics', 'parentIds']);

function invalid(field: string, message: string): ServiceError {
  return new ServiceError('INVALID_FIELD', `${field}: ${message}`, { field });
}

/** A JSON array of strings, or a comma-separated list. */
function stringList(field: string, raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const text = raw.trim();
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalid(field, 'is not valid JSON');
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) throw invalid(field, 'must be a JSON array of strings');
    return parsed.map((v: string) => v.trim());
  }
  return text.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

/** Validates the text fields of a checkpoint upload; malformed JSON or values give INVALID_FIELD. */
export function parseUploadFields(fields: Record<string, string>, filename: string): UploadFields {
  for (const key of Object.keys(fields)) {
    if (!KNOWN.has(key)) throw invalid(key, `unknown field (allowed: ${[...KNOWN].join(', ')}, file)`);
  }
  const fallbackName = filename.replace(/\.[^.]*$/, '');
  const name = (fields.name?.trim() || fallbackName).trim();
  if (name === '' || name.length > 200) throw invalid('name', 'must be 1 to 200 characters (defaults to the file name)');

  const architectureId = fields.architectureId?.trim() || null;
  if (architectureId !== null && !UUID.test(architectureId)) throw invalid('architectureId', 'must be a UUID');

  const tags = [...new Set(stringList('tags', fields.tags))];
  if (tags.length > 50) throw invalid('tags', 'at most 50 tags');
  for (const t of tags) if (!TAG.test(t)) throw invalid('tags', `tag ${JSON.stringify(t)} must match ${TAG.source}`);

  let metrics: Record<string, number> = {};
  if (fields.metrics !== undefined && fields.metrics.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fields.metrics);
    } catch {
      throw invalid('metrics', 'is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('metrics', 'must be a JSON object of numbers');
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid('metrics', `metric ${JSON.stringify(k)} must be a finite number`);
    }
    metrics = parsed as Record<string, number>;
  }

  const parentIds = [...new Set(stringList('parentIds', fields.parentIds))];
  for (const id of parentIds) if (!UUID.test(id)) throw invalid('parentIds', `${JSON.stringify(id)} is not a UUID`);

  return { name, architectureId, tags, metrics, parentIds };
}
