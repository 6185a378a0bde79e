import { ServiceError } from '../../core/service-error';
import { findNulCharacter, nulCharacterMessage } from '../../core/storable-text';
import { DEFAULT_UPLOAD_SPLIT, type ArchiveOptions } from './dataset-ingest';
import type { SplitRule } from './dataset.types';

/** The largest seed: it is stored as a 32-bit integer. */
export const MAX_DATASET_SEED = 2 ** 31 - 1;
export const MAX_IMAGE_SIDE = 4096;
export const MAX_NAME_LENGTH = 200;

/** An upload's parsed form fields. */
export interface DatasetUploadFields {
  name: string;
  split: SplitRule;
  classCount?: number;
  archive?: ArchiveOptions;
}

const FIELDS = ['name', 'seed', 'validation', 'test', 'classCount', 'height', 'width', 'channels'] as const;

function invalid(field: string, message: string): ServiceError {
  return new ServiceError('INVALID_FIELD', `${field} ${message}`, { field });
}

function integerField(fields: Record<string, string>, field: string, min: number, max: number): number | undefined {
  const text = fields[field];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) throw invalid(field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

function fractionField(fields: Record<string, string>, field: string): number | undefined {
  const text = fields[field];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value >= 1) throw invalid(field, `must be a fraction in [0, 1), got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

/** The dataset's name: the `name` field, else the file name without its extension(s). */
export function datasetName(name: string | undefined, filename: string): string {
  const chosen = name ?? (filename.replace(/\.(tar\.gz|tgz|safetensors|zip|tar)$/i, '') || 'dataset');
  if (chosen.trim() === '' || chosen.length > MAX_NAME_LENGTH) throw invalid('name', `must have 1 to ${MAX_NAME_LENGTH} characters`);
  if (chosen.includes('\u0000')) throw new ServiceError('VALIDATION_FAILED', nulCharacterMessage('name'), { field: 'name' });
  return chosen;
}

/** Checks the split fractions together: validation + test must leave examples for training. */
export function splitRule(seed: number, validation: number, test: number): SplitRule {
  if (validation + test >= 1) throw new ServiceError('INVALID_FIELD', `validation + test must be below 1, got ${validation} + ${test}`, { field: 'test' });
  return { seed, validation, test };
}

/**
 * Parses the text fields of POST /v1/datasets/upload: `name`, `seed` (default 0), `validation`
 * and `test` (default 0.1 and 0.2), `classCount` (safetensors files), `height`, `width` and
 * `channels` (archives: height and width together). Unknown fields are refused.
 */
export function parseUploadFields(fields: Record<string, string>, filename: string): DatasetUploadFields {
  const unknown = Object.keys(fields).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new ServiceError('INVALID_FIELD', `unknown field(s) ${unknown.slice(0, 5).join(', ')}; accepted: ${FIELDS.join(', ')}`, { field: unknown[0] });
  const nul = findNulCharacter(fields);
  if (nul !== null) throw new ServiceError('VALIDATION_FAILED', nulCharacterMessage(nul), { field: nul });
  const seed = integerField(fields, 'seed', 0, MAX_DATASET_SEED) ?? 0;
  const split = splitRule(seed, fractionField(fields, 'validation') ?? DEFAULT_UPLOAD_SPLIT.validation, fractionField(fields, 'test') ?? DEFAULT_UPLOAD_SPLIT.test);
  const classCount = integerField(fields, 'classCount', 1, 100_000);
  const height = integerField(fields, 'height', 1, MAX_IMAGE_SIDE);
  const width = integerField(fields, 'width', 1, MAX_IMAGE_SIDE);
  const channels = integerField(fields, 'channels', 1, 3);
  if (channels === 2) throw invalid('channels', 'must be 1 (gray) or 3 (RGB)');
  if ((height === undefined) !== (width === undefined)) throw invalid(height === undefined ? 'height' : 'width', 'is needed too: an archive takes height and width together');
  if (channels !== undefined && height === undefined) throw invalid('height', 'and width are needed with channels (image-folder archives)');
  const archive = height !== undefined && width !== undefined ? { height, width, ...(channels !== undefined ? { channels: channels as 1 | 3 } : {}) } : undefined;
  return { name: datasetName(fields.name, filename), split, ...(classCount !== undefined ? { classCount } : {}), ...(archive ? { archive } : {}) };
}
