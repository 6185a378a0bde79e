import { CoreError } from '../errors';
import type { GhnGraph } from '../graph/ghn/ghn-graph';
import type { GhnConfig } from './ghn-config';

/** One entry of the official target table (ppuda named_layered_modules), keyed by its lookup name. */
interface TargetParam {
  /** state_dict name of the tensor to write. */
  stateName: string;
  /** Module path: a 1-D weight's module also receives `<module>.bias`. */
  module: string;
  isW: boolean;
  sz: number[];
}

/** A graph node matched to a model parameter (the official `_map_net_params`). */
export interface MatchedNode {
  node: number;
  stateName: string;
  isW: boolean;
  sz: number[];
  /** Decoder group key: 2 (1-D or class layer), 3 or 4 entries. */
  key: number[];
  /** Position in its group's decoded batch. */
  wInd: number;
  /** For a 1-D weight (BN/LN): the module's bias, predicted from the same decoded row pair. */
  bias: { stateName: string; sz: number[] } | null;
}

export interface ParamMatching {
  /** Shape the shape encoder sees per node (matched parameter's, else the graph's; null → dummy). */
  encoderShapes: (number[] | null)[];
  /** Decode order: keys in order of first appearance, with their nodes. */
  groups: { key: number[]; nodes: number[] }[];
  matched: Map<number, MatchedNode>;
  /** Parameters of the target table that get no prediction (they keep their initialisation). */
  notPredicted: string[];
}

const DIRECT_SUFFIXES = ['.weight', '.bias', 'in_proj_weight', 'in_proj_bias'];

function targetTable(paramShapes: ReadonlyMap<string, readonly number[]>): Map<string, TargetParam> {
  const table = new Map<string, TargetParam>();
  for (const [name, shape] of paramShapes) {
    const sz = [...shape];
    const cut = (suffix: string): string => name.slice(0, name.length - suffix.length);
    if (name.endsWith('.pos_embedding')) {
      table.set(`${name}.weight`, { stateName: name, module: cut('.pos_embedding'), isW: true, sz });
    } else if (name.endsWith('.in_proj_weight')) {
      table.set(name, { stateName: name, module: cut('.in_proj_weight'), isW: true, sz });
    } else if (name.endsWith('.in_proj_bias')) {
      table.set(name, { stateName: name, module: cut('.in_proj_bias'), isW: false, sz });
    } else if (name.endsWith('.weight') || name.endsWith('.layer_scale')) {
      table.set(name, { stateName: name, module: cut(name.endsWith('.weight') ? '.weight' : '.layer_scale'), isW: true, sz });
    } else if (name.endsWith('.bias')) {
      table.set(name, { stateName: name, module: cut('.bias'), isW: false, sz });
    }
  }
  return table;
}

/**
 * Parameter shapes implied by the graph alone, for callers without the model's state_dict: node
 * shapes, with ghn3's rewrites undone where the module type tells (a 2-D Conv2d classifier is
 * (k, c, 1, 1); a ViT pos_embedding (1, C, s, s) is (1, s²+1, C), as torchvision's square patch
 * grids plus a class token give), and a bias of the same shape for every BN/LN weight.
 */
export function paramShapesFromGraph(graph: GhnGraph): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  graph.nodes.forEach((node, index) => {
    if (!node.info || node.shape === null || !['sep_conv', 'dil_conv', 'conv', 'bias', 'bn', 'ln', 'pos_enc'].includes(node.op)) return;
    let sz = [...node.shape];
    if (node.op === 'pos_enc' && sz.length === 4 && sz[0] === 1 && sz[2] === sz[3]) sz = [1, sz[2] * sz[3] + 1, sz[1]];
    if (graph.builder === 'ghn3' && index === graph.nodes.length - 2 && sz.length === 2 && node.moduleType === 'Conv2d') sz = [...sz, 1, 1];
    shapes.set(node.name, sz);
    if ((node.op === 'bn' || node.op === 'ln') && node.name.endsWith('.weight')) shapes.set(`${node.name.slice(0, -7)}.bias`, [...sz]);
  });
  return shapes;
}

/** Matches graph nodes to parameters and groups them by decoder key (the official _map_net_params). */
export function matchParams(graph: GhnGraph, config: GhnConfig, paramShapes: ReadonlyMap<string, readonly number[]>): ParamMatching {
  const table = targetTable(paramShapes);
  const encoderShapes: (number[] | null)[] = graph.nodes.map(() => null);
  const groups = new Map<string, { key: number[]; nodes: number[] }>();
  const matched = new Map<number, MatchedNode>();
  const assigned = new Set<string>();

  graph.nodes.forEach((node, index) => {
    const info = node.info;
    if (!info) return;
    const p = info.paramName;
    const lookup = DIRECT_SUFFIXES.some((s) => p.endsWith(s)) ? p : `${p}.weight`;
    const candidates = config.impl === 'ghn3' ? [lookup, lookup.replaceAll('to_qkv', 'attn.to_qkv').replaceAll('to_out', 'attn.to_out')] : [lookup];
    const hitName = candidates.find((c) => table.has(c));
    if (hitName === undefined) {
      encoderShapes[index] = info.sz === null ? null : [...info.sz];
      return;
    }
    const target = table.get(hitName) as TargetParam;
    // ppuda deletes matched entries, so a second node of the same name goes unmatched.
    if (config.impl === 'ppuda') table.delete(hitName);
    const key = groupKey(target.sz, info.lastWeight, info.lastBias, config);
    const keyId = key.join(',');
    let group = groups.get(keyId);
    if (!group) groups.set(keyId, (group = { key, nodes: [] }));
    const biasName = `${target.module}.bias`;
    const biasShape = paramShapes.get(biasName);
    const bias = target.sz.length === 1 && target.isW && biasShape ? { stateName: biasName, sz: [...biasShape] } : null;
    matched.set(index, { node: index, stateName: target.stateName, isW: target.isW, sz: target.sz, key, wInd: group.nodes.length, bias });
    group.nodes.push(index);
    encoderShapes[index] = target.sz;
    assigned.add(target.stateName);
    if (bias) assigned.add(bias.stateName);
  });
  const notPredicted = [...paramShapes.keys()].filter((n) => !assigned.has(n));
  return { encoderShapes, groups: [...groups.values()], matched, notPredicted };
}

/** The decoder group key of a matched parameter of shape sz (nodes with equal keys decode together). */
export function groupKey(sz: readonly number[], lastWeight: boolean, lastBias: boolean, config: GhnConfig): number[] {
  const ms = config.maxShape;
  const minSz = (j: number): number => {
    let n = Math.min(sz[j], ms[j]);
    if (n % 3 === 0) n = Math.floor(n / 3) * 4;
    if (n >= ms[j] / 2) n = ms[j];
    return n;
  };
  if (sz.length === 1) return [minSz(0), lastBias ? -1 : 0];
  if (lastWeight) return [minSz(0), minSz(1)];
  if (sz.length === 2) return [minSz(0), minSz(1), 1, 1];
  if (sz.length === 3) {
    if (config.impl === 'ghn3' && sz[0] === 1 && Math.min(sz[1], sz[2]) > 1) {
      const s = Math.floor(Math.sqrt(sz[1]));
      return [1, sz[2], s, s];
    }
    return [minSz(0), minSz(1), minSz(2)];
  }
  if (sz.length === 4) return [minSz(0), minSz(1), sz[2], sz[3]];
  throw new CoreError('GHN_UNSUPPORTED', `GHNs predict 1-D to 4-D parameters, got shape [${sz}]`, { shape: [...sz] });
}
