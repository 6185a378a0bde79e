import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import type { GhnConfig } from './ghn-config';
import { channelTable, spatialTable } from './shape-encoder';

/** A Linear layer with its weight stored [in, out] (x·W): tfjs-wasm's transposed matMul is ~10x slower. */
export interface Dense {
  w: tf.Tensor2D;
  b: tf.Tensor1D | null;
}

export interface Norm {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
}

export interface GraphormerLayerWeights {
  ln1: Norm;
  qkv: Dense;
  out: Dense;
  ln2: Norm;
  ff1: Dense;
  ff2: Dense;
}

export interface GraphormerWeights {
  kind: 'graphormer';
  layers: GraphormerLayerWeights[];
  edgeEmbed: tf.Tensor2D;
  projE1: Dense;
  projE2: Dense;
  centralityIn: tf.Tensor2D;
  centralityOut: tf.Tensor2D;
  inputDist: tf.Tensor2D;
}

export interface GatedGnnWeights {
  kind: 'gatedgnn';
  mlp: [Dense, Dense];
  mlpVe: [Dense, Dense] | null;
  gruIh: Dense;
  gruHh: Dense;
}

export interface GhnWeights {
  ln: Norm | null;
  embed: tf.Tensor2D;
  embedChannel: tf.Tensor2D;
  embedSpatial: tf.Tensor2D;
  gnn: GraphormerWeights | GatedGnnWeights;
  decoderFc: Dense;
  decoderConv0: Dense;
  decoderConv2: Dense;
  classLayer: Dense;
  decoder1d: [Dense, Dense];
  biasClass: Dense;
  /**
   * Column subsets of decoder weights (fc window, conv.2 channels), derived on first use and kept:
   * cutting them out reads the whole weight each time. Bounded (oldest dropped first); freed with the
   * GHN; not parameters (a Map's entries are not walked by ghnWeightTensors).
   */
  derived: Map<string, Dense>;
}

/** How a GHN tensor is stored: its state_dict shape, and whether the GHN keeps it transposed ([in, out]). */
export interface GhnKeySpec {
  shape: number[];
  transposed: boolean;
}

/** The tensors one GHN reads, with their state_dict shapes, as the official state_dict names them. */
export function ghnKeySpecs(c: GhnConfig): Map<string, GhnKeySpec> {
  const H = c.hid;
  const [C0, C1, S] = c.maxShape;
  const cmax = Math.max(C0, C1);
  const keys = new Map<string, GhnKeySpec>();
  const plain = (name: string, shape: number[]): void => void keys.set(name, { shape, transposed: false });
  const linear = (name: string, out: number, inp: number, bias = true): void => {
    keys.set(`${name}.weight`, { shape: [out, inp], transposed: true });
    if (bias) plain(`${name}.bias`, [out]);
  };
  const norm = (name: string): void => {
    plain(`${name}.weight`, [H]);
    plain(`${name}.bias`, [H]);
  };
  if (c.layernorm) norm('ln');
  plain('embed.weight', [15, H]);
  plain('shape_enc.embed_spatial.weight', [spatialTable(S).length + 1, H / 4]);
  plain('shape_enc.embed_channel.weight', [channelTable(c.numClasses).length + 1, H / 4]);
  if (c.isGhn2) {
    const mlpHid = c.ve ? H / 2 : H;
    linear('gnn.mlp.fc.0', mlpHid, H);
    linear('gnn.mlp.fc.2', H, mlpHid);
    if (c.ve) {
      linear('gnn.mlp_ve.fc.0', H / 2, H);
      linear('gnn.mlp_ve.fc.2', H, H / 2);
    }
    for (const k of ['ih', 'hh']) {
      keys.set(`gnn.gru.weight_${k}`, { shape: [3 * H, H], transposed: true });
      plain(`gnn.gru.bias_${k}`, [3 * H]);
    }
  } else {
    for (let l = 0; l < c.layers; l++) {
      const p = `gnn.${l}`;
      norm(`${p}.ln1`);
      linear(`${p}.attn.to_qkv`, 3 * H, H, false);
      linear(`${p}.attn.to_out.0`, H, H);
      norm(`${p}.ln2`);
      linear(`${p}.ff.net.0`, 4 * H, H);
      linear(`${p}.ff.net.3`, H, 4 * H);
    }
    plain('gnn.0.attn.edge_embed.embed.weight', [257, H]);
    linear('gnn.0.attn.proj_e.0', H, 2 * H);
    linear('gnn.0.attn.proj_e.2', c.heads, H);
    plain('gnn.0.centrality_embed_in.weight', [101, H]);
    plain('gnn.0.centrality_embed_out.weight', [101, H]);
    plain('gnn.0.input_dist_embed.weight', [1001, H]);
  }
  linear('decoder.fc.0', 4 * H * S * S, H);
  linear('decoder.conv.0', 8 * H, 4 * H);
  linear('decoder.conv.2', C0 * C1, 8 * H);
  linear('decoder.class_layer_predictor.1', c.numClasses, C0);
  linear('decoder_1d.fc.0', 2 * H, H);
  linear('decoder_1d.fc.2', 2 * cmax, 2 * H);
  linear('bias_class.1', c.numClasses, cmax);
  return keys;
}

/** The tensors one GHN reads and their shapes (state_dict names). */
export function expectedGhnKeys(c: GhnConfig): Map<string, number[]> {
  return new Map([...ghnKeySpecs(c)].map(([k, spec]) => [k, spec.shape]));
}

/** Checkpoint names that differ from the state_dict layout expectedGhnKeys uses. */
export function canonicalGhnKey(name: string): string {
  // GHN-3 `pretrained=True` checkpoints keep these at the top level (fix_embed_layers moves them).
  if (/^(centrality_embed_in|centrality_embed_out|input_dist_embed)\./.test(name)) return `gnn.0.${name}`;
  return name;
}

/** Shape check that accepts ppuda's 4-D (…,1,1) 1×1-conv decoder weights for their 2-D Linear form. */
export function shapeMatches(actual: readonly number[], expected: readonly number[]): boolean {
  const same = (a: readonly number[]): boolean => a.length === expected.length && a.every((d, i) => d === expected[i]);
  if (same(actual)) return true;
  return actual.length === 4 && actual[2] === 1 && actual[3] === 1 && expected.length === 2 && same(actual.slice(0, 2));
}

/**
 * Checks checkpoint names and shapes against the config; returns canonical key → checkpoint name.
 * Throws CoreError('TENSOR_NOT_FOUND') for a missing key and ('INVALID_ARGUMENT') for a wrong shape
 * or an unexpected key.
 */
export function checkGhnKeys(entries: Iterable<[string, readonly number[]]>, c: GhnConfig): Map<string, string> {
  const specs = ghnKeySpecs(c);
  const names = new Map<string, string>();
  const shapes = new Map<string, readonly number[]>();
  for (const [name, shape] of entries) {
    names.set(canonicalGhnKey(name), name);
    shapes.set(canonicalGhnKey(name), shape);
  }
  const unexpected = [...names.keys()].filter((k) => !specs.has(k));
  if (unexpected.length > 0) {
    throw new CoreError('INVALID_ARGUMENT', `the GHN checkpoint has keys this config does not use: ${unexpected.slice(0, 8).join(', ')}`, {
      unexpected,
    });
  }
  for (const [key, { shape }] of specs) {
    const actual = shapes.get(key);
    if (!actual) throw new CoreError('TENSOR_NOT_FOUND', `the GHN checkpoint lacks '${key}' (expected shape [${shape}])`, { key });
    if (!shapeMatches(actual, shape)) {
      throw new CoreError('INVALID_ARGUMENT', `GHN tensor '${key}' has shape [${actual}], expected [${shape}] for this config`, {
        key,
        shape: [...actual],
        expected: shape,
      });
    }
  }
  return names;
}

/**
 * Builds the GHN's own weight tensors from state_dict-named tensors (the caller keeps ownership of
 * `tensors`; nothing here aliases them after it returns). See checkGhnKeys for the errors.
 */
export function buildGhnWeights(tensors: ReadonlyMap<string, tf.Tensor>, c: GhnConfig): GhnWeights {
  const names = checkGhnKeys([...tensors].map(([k, t]) => [k, t.shape]), c);
  const prepared = new Map<string, tf.Tensor>();
  for (const [key, spec] of ghnKeySpecs(c)) {
    const t = tensors.get(names.get(key) as string) as tf.Tensor;
    prepared.set(
      key,
      tf.tidy(() => {
        const x = tf.reshape(tf.cast(t, 'float32'), spec.shape);
        return spec.transposed ? tf.transpose(x) : x.clone();
      }),
    );
  }
  return assembleGhnWeights(prepared, c);
}

/** Arranges prepared tensors (canonical keys; Linear weights already [in, out]) into GhnWeights. */
export function assembleGhnWeights(prepared: ReadonlyMap<string, tf.Tensor>, c: GhnConfig): GhnWeights {
  const get = <T extends tf.Tensor>(key: string): T => prepared.get(key) as T;
  const dense = (name: string): Dense => ({ w: get(`${name}.weight`), b: (prepared.get(`${name}.bias`) as tf.Tensor1D | undefined) ?? null });
  const norm = (name: string): Norm => ({ weight: get(`${name}.weight`), bias: get(`${name}.bias`) });
  const gnn: GraphormerWeights | GatedGnnWeights = c.isGhn2
    ? {
        kind: 'gatedgnn',
        mlp: [dense('gnn.mlp.fc.0'), dense('gnn.mlp.fc.2')],
        mlpVe: c.ve ? [dense('gnn.mlp_ve.fc.0'), dense('gnn.mlp_ve.fc.2')] : null,
        gruIh: { w: get('gnn.gru.weight_ih'), b: get<tf.Tensor1D>('gnn.gru.bias_ih') },
        gruHh: { w: get('gnn.gru.weight_hh'), b: get<tf.Tensor1D>('gnn.gru.bias_hh') },
      }
    : {
        kind: 'graphormer',
        layers: Array.from({ length: c.layers }, (_, l) => ({
          ln1: norm(`gnn.${l}.ln1`),
          qkv: dense(`gnn.${l}.attn.to_qkv`),
          out: dense(`gnn.${l}.attn.to_out.0`),
          ln2: norm(`gnn.${l}.ln2`),
          ff1: dense(`gnn.${l}.ff.net.0`),
          ff2: dense(`gnn.${l}.ff.net.3`),
        })),
        edgeEmbed: get('gnn.0.attn.edge_embed.embed.weight'),
        projE1: dense('gnn.0.attn.proj_e.0'),
        projE2: dense('gnn.0.attn.proj_e.2'),
        centralityIn: get('gnn.0.centrality_embed_in.weight'),
        centralityOut: get('gnn.0.centrality_embed_out.weight'),
        inputDist: get('gnn.0.input_dist_embed.weight'),
      };
  return {
    ln: c.layernorm ? norm('ln') : null,
    embed: get('embed.weight'),
    embedChannel: get('shape_enc.embed_channel.weight'),
    embedSpatial: get('shape_enc.embed_spatial.weight'),
    gnn,
    decoderFc: dense('decoder.fc.0'),
    decoderConv0: dense('decoder.conv.0'),
    decoderConv2: dense('decoder.conv.2'),
    classLayer: dense('decoder.class_layer_predictor.1'),
    decoder1d: [dense('decoder_1d.fc.0'), dense('decoder_1d.fc.2')],
    biasClass: dense('bias_class.1'),
    derived: new Map(),
  };
}

/** Every tensor a GhnWeights holds (for dispose and memory accounting). */
export function ghnWeightTensors(w: GhnWeights): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof tf.Tensor) out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(w);
  return out;
}
