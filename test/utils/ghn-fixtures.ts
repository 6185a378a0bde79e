import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../src/core/testing/fixtures';
import type { GhnConfigDocument } from '../../src/modules/ghns/ghn.types';

export const GHN_FORMATS_DIR = fixturesDir('checkpoint-formats');
export const GHN_FIXTURES_DIR = fixturesDir('ghn', 'ghn');
/** The weights of ghn/ghn3_h32_l3 as a joblib pickle: the layout of the released ghn3tm8.pt. */
export const GHN3_JOBLIB = join(GHN_FORMATS_DIR, 'ghn3_h32_l3.joblib.pt');
export const GHN3_SAFETENSORS = join(GHN_FIXTURES_DIR, 'ghn3_h32_l3.safetensors');

export interface FixtureGhnJson {
  impl: string;
  graph_builder: string;
  ctor_config: Record<string, unknown>;
  n_params: number;
  state_dict: unknown[];
}

export function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A fixture GHN's `ghn/<cfg>.json`. */
export function fixtureGhnJson(cfg: string): FixtureGhnJson {
  return JSON.parse(readFileSync(join(GHN_FIXTURES_DIR, `${cfg}.json`), 'utf8')) as FixtureGhnJson;
}

/** The config part of a fixture's JSON, as the API stores and returns it. */
export function fixtureConfigDocument(cfg: string): GhnConfigDocument {
  const { impl, graph_builder, ctor_config } = fixtureGhnJson(cfg);
  return { impl, graph_builder, ctor_config } as GhnConfigDocument;
}

/** The safetensors file with its `__metadata__` (and so its stored config) removed. */
export function withoutMetadata(path: string): Buffer {
  const bytes = readFileSync(path);
  const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
  const { __metadata__: _dropped, ...tensors } = JSON.parse(bytes.subarray(8, headerEnd).toString('utf8'));
  const header = Buffer.from(JSON.stringify(tensors));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header, bytes.subarray(headerEnd)]);
}
