import { isCoreError } from '../../core/errors';
import { expectedGhnKeys, inferGhnConfig, parseGhnConfig, type GhnConfig } from '../../core/ghn';
import { canonicalGhnKey, shapeMatches } from '../../core/ghn/ghn-weights';
import type { ManifestEntry } from '../checkpoints/checkpoint.types';
import { ServiceError } from '../../core/service-error';
import type { GhnConfigDocument } from './ghn.types';

/** Where an upload's config came from, in order of precedence. */
export type GhnConfigOrigin = 'field' | 'checkpoint' | 'inferred';

const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);
const ORIGIN_LABELS: Record<GhnConfigOrigin, string> = { field: 'given', checkpoint: "checkpoint's", inferred: 'inferred' };
const EXAMPLES = 5;

/**
 * The stored, returned layout of a config. `pretrained` (ghn3 only) records whether the weights
 * keep the centrality embeddings at the top level, as ghn3's `pretrained=True` layout does.
 */
export function toGhnConfigDocument(c: GhnConfig, pretrained = false): GhnConfigDocument {
  const common = { max_shape: [...c.maxShape], num_classes: c.numClasses, weight_norm: c.weightNorm, ve: c.ve, layernorm: c.layernorm, hid: c.hid };
  if (c.impl === 'ppuda') {
    return { impl: 'ppuda', graph_builder: c.graphBuilder, ctor_config: { ...common, hypernet: 'gatedgnn', decoder: 'conv' } };
  }
  return { impl: 'ghn3', graph_builder: c.graphBuilder, ctor_config: { ...common, heads: c.heads, layers: c.layers, is_ghn2: c.isGhn2, pretrained } };
}

/** The hyper-parameters of a stored config document (validated when it was stored). */
export function ghnSettings(doc: GhnConfigDocument): GhnConfig {
  return parseGhnConfig(doc);
}

/** As in the official ghn3 `from_pretrained`: `pretrained` checkpoints keep `centrality_embed_in` outside `gnn.`. */
export function hasTopLevelCentrality(manifest: readonly ManifestEntry[]): boolean {
  return manifest.some((t) => t.name.startsWith('centrality_embed_in.'));
}

/**
 * The config of an uploaded GHN: the `config` field (any layout parseGhnConfig reads), else the
 * checkpoint's own `config` entry (ppuda and trainer torch.save files; a JSON string in safetensors
 * metadata), else inferred from the tensor names and shapes (inferGhnConfig). A config that cannot
 * be read is GHN_INVALID (422); malformed JSON in the field is INVALID_FIELD (400).
 */
export function chooseGhnConfig(field: string | undefined, metadata: Record<string, unknown>, manifest: readonly ManifestEntry[]): { config: GhnConfig; origin: GhnConfigOrigin } {
  if (field !== undefined && field.trim() !== '') {
    let json: unknown;
    try {
      json = JSON.parse(field);
    } catch {
      throw new ServiceError('INVALID_FIELD', 'config: is not valid JSON', { field: 'config' });
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ServiceError('INVALID_FIELD', 'config: must be a JSON object ({impl, graph_builder, ctor_config} or a constructor config)', { field: 'config' });
    }
    return { config: parsed(json, 'the `config` field is not a usable GHN config'), origin: 'field' };
  }
  const stored = typeof metadata.config === 'string' ? parseJsonObject(metadata.config) : metadata.config;
  if (stored !== undefined && stored !== null) {
    return { config: parsed(stored, "the checkpoint's own `config` entry is not a usable GHN config (a `config` field overrides it)"), origin: 'checkpoint' };
  }
  const shapes = new Map(manifest.map((t) => [t.name, t.shape]));
  return { config: parsed(shapes, 'no usable GHN config can be inferred from the tensor names (is this a GHN checkpoint? a `config` field can give one)'), origin: 'inferred' };
}

function parseJsonObject(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON: parseGhnConfig reports it as not an object
  }
}

function parsed(source: unknown, problem: string): GhnConfig {
  try {
    return source instanceof Map ? inferGhnConfig(source) : parseGhnConfig(source);
  } catch (e) {
    if (isCoreError(e) && e.code === 'INVALID_ARGUMENT') throw new ServiceError('GHN_INVALID', `${problem}: ${e.message}`);
    throw e;
  }
}

/** One line naming the config's main hyper-parameters, for error messages. */
export function describeGhnConfig(c: GhnConfig): string {
  const gnn = c.isGhn2 ? 'GHN-2' : `GHN-3, ${c.layers} layers, ${c.heads} heads`;
  return `impl ${c.impl}, ${gnn}, hid ${c.hid}, max_shape ${c.maxShape.join('x')}, ${c.numClasses} classes`;
}

/**
 * Checks that the tensors are exactly those the config's GHN reads (expectedGhnKeys), with their
 * shapes (ppuda's 4-D 1×1 decoder weights accepted) and a floating-point dtype; GHN_INVALID names
 * what is missing, unexpected or of another shape.
 */
export function checkGhnTensors(manifest: readonly ManifestEntry[], config: GhnConfig, origin: GhnConfigOrigin): void {
  const expected = expectedGhnKeys(config);
  const seen = new Set<string>();
  const unexpected: string[] = [];
  const mismatched: { name: string; shape: number[]; expected: number[] }[] = [];
  const notFloat: { name: string; dtype: string }[] = [];
  for (const t of manifest) {
    const key = canonicalGhnKey(t.name);
    const shape = expected.get(key);
    if (!shape || seen.has(key)) {
      unexpected.push(t.name);
      continue;
    }
    seen.add(key);
    if (!shapeMatches(t.shape, shape)) mismatched.push({ name: t.name, shape: t.shape, expected: shape });
    if (!FLOAT_DTYPES.has(t.dtype)) notFloat.push({ name: t.name, dtype: t.dtype });
  }
  const missing = [...expected.keys()].filter((k) => !seen.has(k));
  if (missing.length + unexpected.length + mismatched.length + notFloat.length === 0) return;

  const parts: string[] = [];
  const quote = (names: string[]): string => names.slice(0, 2).map((n) => `'${n}'`).join(', ');
  if (missing.length) parts.push(`${missing.length} missing (${quote(missing)}${missing.length > 2 ? ', ...' : ''})`);
  if (unexpected.length) parts.push(`${unexpected.length} unexpected (${quote(unexpected)}${unexpected.length > 2 ? ', ...' : ''})`);
  if (mismatched.length) {
    const m = mismatched[0];
    parts.push(`${mismatched.length} of another shape ('${m.name}' is [${m.shape}], expected [${m.expected}])`);
  }
  if (notFloat.length) parts.push(`${notFloat.length} not floating point ('${notFloat[0].name}' is ${notFloat[0].dtype})`);
  throw new ServiceError('GHN_INVALID', `the tensors do not match the ${ORIGIN_LABELS[origin]} GHN config (${describeGhnConfig(config)}): ${parts.join('; ')}`, {
    configOrigin: origin,
    missing: missing.slice(0, EXAMPLES * 4),
    unexpected: unexpected.slice(0, EXAMPLES * 4),
    mismatched: mismatched.slice(0, EXAMPLES),
    notFloatingPoint: notFloat.slice(0, EXAMPLES),
  });
}
