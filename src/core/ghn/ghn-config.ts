import { CoreError } from '../errors';
import type { GhnBuilderName } from '../graph/ghn/ghn-graph';

/** Which official forward pass a GHN follows: the ghn3 code (GHN-3, or GHN-2 mode) or the ppuda code. */
export type GhnImpl = 'ghn3' | 'ppuda';

/** Hyper-parameters of a GHN (the official constructors' arguments), in one shape for both code bases. */
export interface GhnConfig {
  impl: GhnImpl;
  /** The graph builder whose graphs this GHN was made with (and is tested against). */
  graphBuilder: GhnBuilderName;
  hid: number;
  /** (C0, C1, S, S): the decoder's largest tensor. */
  maxShape: [number, number, number, number];
  numClasses: number;
  /** Graphormer heads and layers (ghn3 impl, GHN-3 mode). */
  heads: number;
  layers: number;
  /** ghn3 impl: GatedGNN + GHN-2 decoding (top-left windows) instead of a Graphormer. Always true for ppuda. */
  isGhn2: boolean;
  weightNorm: boolean;
  /** Virtual edges (the GatedGNN's mlp_ve; graphs built with ve_cutoff 50 instead of 1). */
  ve: boolean;
  layernorm: boolean;
}

export const GHN_IMPLS: readonly GhnImpl[] = ['ghn3', 'ppuda'];

/**
 * Parses a GHN config: the fixtures' `ghn/<cfg>.json` layout ({impl, graph_builder, ctor_config}),
 * a bare ghn3 constructor config ({hid, max_shape, heads, layers, is_ghn2, ...}) or a ppuda one
 * ({hid, max_shape, hypernet, decoder, ...}; what ppuda's torch.save checkpoints carry), or an
 * already-parsed GhnConfig. Throws CoreError('INVALID_ARGUMENT') or ('GHN_UNSUPPORTED').
 */
export function parseGhnConfig(json: unknown): GhnConfig {
  const o = record(json, 'GHN config');
  if (typeof o.impl === 'string' && 'maxShape' in o) return validateGhnConfig(o as unknown as GhnConfig);
  if ('ctor_config' in o) {
    const impl = o.impl ?? 'ghn3';
    if (impl !== 'ghn3' && impl !== 'ppuda') bad(`impl must be 'ghn3' or 'ppuda', got ${JSON.stringify(impl)}`);
    const builder = o.graph_builder ?? impl;
    if (builder !== 'ghn3' && builder !== 'ppuda') bad(`graph_builder must be 'ghn3' or 'ppuda', got ${JSON.stringify(builder)}`);
    return fromCtorConfig(record(o.ctor_config, 'ctor_config'), impl, builder);
  }
  const impl: GhnImpl = 'hypernet' in o || 'decoder' in o ? 'ppuda' : 'ghn3';
  return fromCtorConfig(o, impl, impl);
}

function fromCtorConfig(c: Record<string, unknown>, impl: GhnImpl, graphBuilder: GhnBuilderName): GhnConfig {
  if (impl === 'ppuda') {
    if (c.hypernet !== undefined && c.hypernet !== 'gatedgnn') unsupported(`ppuda hypernet '${String(c.hypernet)}' (only 'gatedgnn')`);
    if (c.decoder !== undefined && c.decoder !== 'conv') unsupported(`ppuda decoder '${String(c.decoder)}' (only 'conv')`);
  }
  const hid = int(c.hid ?? 32, 'hid');
  const maxShape = parseMaxShape(c.max_shape);
  const ghn2 = impl === 'ppuda' ? true : bool(c.is_ghn2 ?? false, 'is_ghn2');
  return validateGhnConfig({
    impl,
    graphBuilder,
    hid,
    maxShape,
    numClasses: int(c.num_classes, 'num_classes'),
    heads: int(c.heads ?? (hid > 64 ? 16 : 8), 'heads'),
    layers: ghn2 ? 0 : int(c.layers ?? 3, 'layers'),
    isGhn2: ghn2,
    // ppuda's constructor defaults are False; ghn3 builds every released model with True.
    weightNorm: bool(c.weight_norm ?? impl === 'ghn3', 'weight_norm'),
    ve: bool(c.ve ?? impl === 'ghn3', 've'),
    layernorm: bool(c.layernorm ?? impl === 'ghn3', 'layernorm'),
  });
}

function parseMaxShape(v: unknown): [number, number, number, number] {
  if (typeof v === 'number') return [int(v, 'max_shape'), v, 16, 16];
  if (!Array.isArray(v) || v.length !== 4) bad('max_shape must be [C0, C1, S, S]');
  return v.map((d, i) => int(d, `max_shape[${i}]`)) as [number, number, number, number];
}

export function validateGhnConfig(c: GhnConfig): GhnConfig {
  if (!GHN_IMPLS.includes(c.impl)) bad(`impl must be 'ghn3' or 'ppuda'`);
  if (c.graphBuilder !== 'ghn3' && c.graphBuilder !== 'ppuda') bad(`graphBuilder must be 'ghn3' or 'ppuda'`);
  for (const k of ['hid', 'numClasses', 'heads'] as const) int(c[k], k);
  if (!Number.isInteger(c.layers) || c.layers < 0) bad('layers must be an integer ≥ 0');
  if (c.hid % 4 !== 0) bad(`hid must be divisible by 4 (the shape encoder splits it in four), got ${c.hid}`);
  if (!c.isGhn2 && c.layers < 1) bad('a GHN-3 (Graphormer) needs at least one layer');
  if (!c.isGhn2 && c.hid % c.heads !== 0) bad(`hid ${c.hid} is not divisible by heads ${c.heads}`);
  if (c.impl === 'ppuda' && !c.isGhn2) bad('the ppuda impl is always GHN-2 (isGhn2 true)');
  if (c.maxShape.length !== 4 || c.maxShape.some((d) => !Number.isInteger(d) || d < 1)) bad('maxShape must be 4 positive integers');
  if (c.maxShape[2] !== c.maxShape[3]) bad(`maxShape must be spatially square, got ${JSON.stringify(c.maxShape)}`);
  return { ...c, maxShape: [...c.maxShape] as GhnConfig['maxShape'] };
}

/**
 * The config of a checkpoint that stores none, from its key names and shapes (as
 * ghn3's from_pretrained infers it): such files are run by the ghn3 code, GHN-2 ones in GHN-2 mode.
 */
export function inferGhnConfig(shapes: ReadonlyMap<string, readonly number[]>): GhnConfig {
  const names = [...shapes.keys()];
  const isGhn2 = names.some((n) => n.includes('gnn.gru.'));
  let numClasses = 10;
  const cls = names.find((n) => n.includes('class_layer_predictor'));
  if (cls) numClasses = (shapes.get(cls) as number[])[0];
  let s = numClasses >= 1000 ? 16 : 11;
  let hid = 32;
  let layers = 0;
  let layernorm = false;
  let maxCh = 64;
  for (const [name, shape] of shapes) {
    if (name.endsWith('ln.weight')) layernorm = true;
    else if (name.endsWith('embed.weight')) hid = shape[shape.length - 1];
    else if (name.endsWith('decoder.conv.2.weight')) maxCh = Math.floor(Math.sqrt(shape[0]));
    else if (name.endsWith('shape_enc.embed_spatial.weight')) s = shape[0] === 9 ? 11 : 16;
    else if (name.endsWith('ln1.weight') && name.includes('gnn.')) layers++;
  }
  return validateGhnConfig({
    impl: 'ghn3',
    graphBuilder: 'ghn3',
    hid,
    maxShape: [maxCh, maxCh, s, s],
    numClasses,
    heads: hid > 64 ? 16 : 8,
    layers: isGhn2 ? 0 : layers,
    isGhn2,
    weightNorm: true,
    ve: true,
    layernorm,
  });
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) bad(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') bad(`${what} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

function bad(message: string): never {
  throw new CoreError('INVALID_ARGUMENT', `invalid GHN config: ${message}`);
}

function unsupported(what: string): never {
  throw new CoreError('GHN_UNSUPPORTED', `unsupported GHN: ${what}`);
}
