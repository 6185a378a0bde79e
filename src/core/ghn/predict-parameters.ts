import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import { ghnOpIndex, type GhnGraph } from '../graph/ghn/ghn-graph';
import { biasClass, convDecoder3, convDecoderPpuda, decoder1d } from './decoders';
import { gatedGnn } from './gated-gnn';
import type { Ghn } from './ghn';
import { graphormer, type InternalsSink } from './graphormer';
import { embed, layerNorm } from './nn';
import { matchParams, paramShapesFromGraph, type MatchedNode, type ParamMatching } from './param-matching';
import { isHostMemoryBackend } from '../tensor/read-tensors';
import { encodeShapes, ShapeVocabulary } from './shape-encoder';
import { normalizeParam, tileGhn3, tilePpuda } from './tile-params';

export interface PredictParametersOptions {
  /**
   * The target model's trainable parameters (state_dict name → shape). Without it they are derived
   * from the graph (paramShapesFromGraph), which assumes a ViT pos_embedding of s²+1 tokens.
   */
  paramShapes?: ReadonlyMap<string, readonly number[]> | Readonly<Record<string, readonly number[]>>;
  /** Also return the GHN's intermediate tensors under the fixtures' names (ghn/x_embed, ...). */
  returnInternals?: boolean;
  /** false: leave the classification layer's weight and bias unpredicted (fine-tuning on new labels). */
  predictClassLayers?: boolean;
  /** Seed of the ViT class-token row of pos_embedding, drawn N(0, 0.02²) as the official code does. */
  seed?: number;
  /**
   * The class-token row to prepend to a ViT pos_embedding instead of a random one (its first
   * `width` entries, width being the decoded row's; the row is tiled with the rest afterwards).
   */
  classTokenRow?: ArrayLike<number>;
  /**
   * Fit nodes with the same targets as one batch (fewer, larger ops). Default: on backends whose
   * memory is not the host's (webgpu), where every op has a fixed dispatch cost; on wasm and cpu a
   * slice reads its whole input, so slicing the fitted batch apart costs more than it saves.
   */
  batchTargets?: boolean;
}

export interface GhnPrediction {
  /** Predicted tensors by state_dict name, in the target shapes (float32). The caller disposes them. */
  params: Map<string, tf.Tensor>;
  internals?: Map<string, tf.Tensor>;
  /** Parameters of the target that the GHN does not predict; they keep their initialisation. */
  notPredicted: string[];
}

/**
 * Predicts a model's parameters from its GHN graph: node features, GNN, final
 * LayerNorm, then per decoder group: decode, slice/tile to each target shape, normalise. BatchNorm
 * running statistics are never predicted (see Ghn.defaultBatchNormMode). Throws
 * CoreError('GHN_UNSUPPORTED') where the official code fails for this GHN and graph.
 */
export function predictParameters(ghn: Ghn, graph: GhnGraph, opts: PredictParametersOptions = {}): GhnPrediction {
  if (ghn.isDisposed) throw new CoreError('INVALID_ARGUMENT', 'this GHN has been disposed');
  if (graph.nodes.length === 0) throw new CoreError('INVALID_ARGUMENT', 'the GHN graph has no nodes');
  const shapes =
    opts.paramShapes === undefined
      ? paramShapesFromGraph(graph)
      : opts.paramShapes instanceof Map
        ? (opts.paramShapes as ReadonlyMap<string, readonly number[]>)
        : new Map(Object.entries(opts.paramShapes));
  const matching = matchParams(graph, ghn.config, shapes);
  const params = new Map<string, tf.Tensor>();
  const internals = opts.returnInternals ? new Map<string, tf.Tensor>() : undefined;
  const sink: InternalsSink = internals ? (name, t) => internals.set(name, tf.keep(t.clone())) : null;
  try {
    tf.tidy(() => {
      const x = nodeEmbeddings(ghn, graph, matching, sink);
      decodeAll(ghn, x, matching, opts, params, sink);
    });
  } catch (e) {
    tf.dispose([...params.values(), ...(internals ? internals.values() : [])]);
    throw e;
  }
  return { params, ...(internals ? { internals } : {}), notPredicted: matching.notPredicted };
}

/** x⁰ = E_op + ShapeEnc, the GNN, then the final LayerNorm: (N, H). */
function nodeEmbeddings(ghn: Ghn, graph: GhnGraph, matching: ParamMatching, sink: InternalsSink): tf.Tensor2D {
  const { config: c, weights: w } = ghn;
  const vocab = new ShapeVocabulary(c.numClasses, c.maxShape[3]);
  const n = graph.nodes.length;
  const shapeInd = new Int32Array(n * 4);
  matching.encoderShapes.forEach((sz, i) => shapeInd.set(vocab.shapeIndices(sz), i * 4));
  const xEmbed = embed(w.embed, graph.nodes.map((node) => ghnOpIndex(node.op)));
  const xShape = encodeShapes(shapeInd, w.embedChannel, w.embedSpatial);
  const x0 = tf.add(xEmbed, xShape) as tf.Tensor2D;
  if (sink) {
    sink('ghn/shape_ind', tf.tensor2d(shapeInd, [n, 4], 'int32'));
    sink('ghn/x_embed', xEmbed);
    sink('ghn/x_shape_enc', x0);
  }
  const gnn = w.gnn;
  const xGnn = gnn.kind === 'graphormer' ? graphormer(gnn, c, x0, graph.edges, sink) : gatedGnn(gnn, x0, graph.edges, sink);
  const xOut = w.ln ? (layerNorm(xGnn, w.ln) as tf.Tensor2D) : xGnn;
  if (sink) {
    sink('ghn/x_gnn', xGnn);
    sink('ghn/x_out', xOut);
  }
  return xOut;
}

function decodeAll(
  ghn: Ghn,
  x: tf.Tensor2D,
  matching: ParamMatching,
  opts: PredictParametersOptions,
  out: Map<string, tf.Tensor>,
  sink: InternalsSink,
): void {
  const c = ghn.config;
  let call = 0;
  const record = (module: string, t: tf.Tensor): void => {
    if (sink) sink(`dec/${String(call).padStart(3, '0')}_${module}`, t);
    call++;
  };
  const given = opts.classTokenRow;
  const batchTargets = opts.batchTargets ?? !isHostMemoryBackend();
  const classRow = (width: number): tf.Tensor => {
    if (given === undefined) return tf.randomNormal([1, 1, width], 0, 0.02, 'float32', opts.seed);
    if (given.length < width) throw new CoreError('INVALID_ARGUMENT', `classTokenRow has ${given.length} values, the decoded row needs ${width}`);
    return tf.tensor3d(Array.from({ length: width }, (_, i) => given[i]), [1, 1, width]);
  };
  for (const { key, nodes } of matching.groups) {
    const isClass = key.length === 2 && key[1] !== 0;
    if (isClass && opts.predictClassLayers === false) continue;
    tf.tidy(() => {
      const xs = tf.gather(x, tf.tensor1d(nodes, 'int32'));
      let decoded: tf.Tensor;
      if (key.length === 4 || (key.length === 2 && key[1] > 0)) {
        const k4 = key.length === 4 ? key : [key[0], key[1], 1, 1];
        const decode = c.impl === 'ppuda' ? convDecoderPpuda : convDecoder3;
        decoded = decode(ghn.weights, c, xs, k4, key.length === 2);
        record('decoder', decoded);
      } else {
        const raw = decoder1d(ghn.weights, xs);
        record('decoder_1d', raw);
        decoded = key.length === 3 ? tf.reshape(raw, [nodes.length, -1, 1, 1]) : tf.reshape(raw, [nodes.length, 2, -1]);
        if (key.length === 2 && key[1] < 0) {
          decoded = biasClass(ghn.weights, decoded);
          record('bias_class', decoded);
        }
      }
      const members = nodes.map((node) => matching.matched.get(node) as MatchedNode);
      for (const batch of batchTargets ? sameTargets(members) : members.map((m) => [m])) {
        if (batch.length === 1) assign(ghn, decoded, batch[0], classRow, out);
        else assignBatch(ghn, decoded, batch, classRow, out);
      }
    });
  }
}

interface Target {
  name: string;
  sz: number[];
  isW: boolean;
  /** Row of the decoded item (1-D weights: 0 weight, 1 bias); null takes the item whole. */
  row: number | null;
}

/** A node's tensors: 1-D weights give weight (row 0) and their module's bias (row 1). */
function targetsOf(m: MatchedNode): Target[] {
  if (m.sz.length !== 1) return [{ name: m.stateName, sz: m.sz, isW: m.isW, row: null }];
  const targets: Target[] = [{ name: m.stateName, sz: m.sz, isW: m.isW, row: m.isW ? 0 : 1 }];
  if (m.bias) targets.push({ name: m.bias.stateName, sz: m.bias.sz, isW: false, row: 1 });
  return targets;
}

/**
 * Nodes of one decoder group split by what is done to them (same target shapes and roles), in
 * order of first appearance: each batch is sliced, normalised and tiled by one set of ops. A group
 * where two nodes write the same tensor keeps node order instead (the last write wins).
 */
function sameTargets(members: MatchedNode[]): MatchedNode[][] {
  const names = members.flatMap((m) => targetsOf(m).map((t) => t.name));
  if (new Set(names).size !== names.length) return members.map((m) => [m]);
  const batches = new Map<string, MatchedNode[]>();
  for (const m of members) {
    const key = JSON.stringify(targetsOf(m).map((t) => [t.sz, t.isW, t.row]));
    const batch = batches.get(key);
    if (batch) batch.push(m);
    else batches.set(key, [m]);
  }
  return [...batches.values()];
}

function normalizerFor(ghn: Ghn, t: Target): ((x: tf.Tensor) => tf.Tensor) | undefined {
  // Normalisation is elementwise with the target's shape, so it runs on the small tensor before tiling.
  return ghn.config.weightNorm ? (x: tf.Tensor): tf.Tensor => normalizeParam(x, t.isW, t.sz) : undefined;
}

function store(out: Map<string, tf.Tensor>, name: string, p: tf.Tensor): void {
  out.get(name)?.dispose();
  out.set(name, tf.keep(p));
}

/** Writes one node's tensors. */
function assign(ghn: Ghn, decoded: tf.Tensor, m: MatchedNode, classRow: (width: number) => tf.Tensor, out: Map<string, tf.Tensor>): void {
  const c = ghn.config;
  const item = tf.squeeze(tf.slice(decoded, m.wInd, 1), [0]);
  for (const t of targetsOf(m)) {
    const w = t.row === null ? item : tf.squeeze(tf.slice(item, t.row, 1), [0]);
    const normalize = normalizerFor(ghn, t);
    store(out, t.name, c.impl === 'ppuda' ? tilePpuda(w, t.sz, normalize) : tileGhn3(w, t.sz, c.isGhn2, classRow, normalize));
  }
}

/** Writes the tensors of several nodes with the same targets, fitted as one batch. */
function assignBatch(ghn: Ghn, decoded: tf.Tensor, members: MatchedNode[], classRow: (width: number) => tf.Tensor, out: Map<string, tf.Tensor>): void {
  const c = ghn.config;
  const items = tf.gather(decoded, tf.tensor1d(members.map((m) => m.wInd), 'int32'));
  const targets = members.map(targetsOf);
  targets[0].forEach((t, ti) => {
    const w = t.row === null ? items : tf.squeeze(tf.slice(items, [0, t.row], [-1, 1]), [1]);
    const normalize = normalizerFor(ghn, t);
    const fitted = c.impl === 'ppuda' ? tilePpuda(w, t.sz, normalize, 1) : tileGhn3(w, t.sz, c.isGhn2, classRow, normalize, 1);
    members.forEach((_, i) => store(out, targets[i][ti].name, tf.reshape(tf.slice(fitted, i, 1), t.sz)));
  });
}
