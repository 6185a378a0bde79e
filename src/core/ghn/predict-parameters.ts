import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import { ghnOpIndex, type GhnGraph } from '../graph/ghn/ghn-graph';
import { biasClass, convDecoder3, convDecoderPpuda, decoder1d } from './decoders';
import { gatedGnn } from './gated-gnn';
import type { Ghn } from './ghn';
import { graphormer, type InternalsSink } from './graphormer';
import { embed, layerNorm } from './nn';
import { matchParams, paramShapesFromGraph, type MatchedNode, type ParamMatching } from './param-matching';
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
}

export interface GhnPrediction {
  /** Predicted tensors by state_dict name, in the target shapes (float32). The caller disposes them. */
  params: Map<string, tf.Tensor>;
  internals?: Map<string, tf.Tensor>;
  /** Parameters of the target that the GHN does not predict; they keep their initialisation. */
  notPredicted: string[];
}

/**
 * Predicts a model's parameters from its GHN graph (ghn-spec §8): node features, GNN, final
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
      for (const node of nodes) assign(ghn, decoded, matching.matched.get(node) as MatchedNode, classRow, out);
    });
  }
}

/** Writes one node's tensors: 1-D weights give weight (row 0) and their module's bias (row 1). */
function assign(ghn: Ghn, decoded: tf.Tensor, m: MatchedNode, classRow: (width: number) => tf.Tensor, out: Map<string, tf.Tensor>): void {
  const c = ghn.config;
  const item = tf.squeeze(tf.slice(decoded, m.wInd, 1), [0]);
  const targets: { name: string; sz: number[]; isW: boolean; row: number | null }[] = [];
  if (m.sz.length === 1) {
    targets.push({ name: m.stateName, sz: m.sz, isW: m.isW, row: m.isW ? 0 : 1 });
    if (m.bias) targets.push({ name: m.bias.stateName, sz: m.bias.sz, isW: false, row: 1 });
  } else targets.push({ name: m.stateName, sz: m.sz, isW: m.isW, row: null });
  for (const t of targets) {
    const w = t.row === null ? item : tf.squeeze(tf.slice(item, t.row, 1), [0]);
    // Normalisation is elementwise with the target's shape, so it runs on the small tensor before tiling.
    const normalize = c.weightNorm ? (x: tf.Tensor): tf.Tensor => normalizeParam(x, t.isW, t.sz) : undefined;
    const p = c.impl === 'ppuda' ? tilePpuda(w, t.sz, normalize) : tileGhn3(w, t.sz, c.isGhn2, classRow, normalize);
    out.get(t.name)?.dispose();
    out.set(t.name, tf.keep(p));
  }
}
