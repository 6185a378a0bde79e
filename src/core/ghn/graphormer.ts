import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import type { GhnEdge } from '../graph/ghn/ghn-graph';
import type { GhnConfig } from './ghn-config';
import type { GraphormerLayerWeights, GraphormerWeights } from './ghn-weights';
import { embed, gelu, layerNorm, linear } from './nn';

const MAX_DEGREE = 100;
const MAX_INPUT_DIST = 1000;
/** Rows of the edge embedding: distances 0..254, shifted by 2. */
const EDGE_ROWS = 257;

export type InternalsSink = ((name: string, t: tf.Tensor) => void) | null;

/** Dense distance matrix A (N×N, row-major; 0 = no path) from the graph's edge list. */
export function denseDistances(n: number, edges: readonly GhnEdge[]): Int32Array {
  const a = new Int32Array(n * n);
  for (const [s, t, d] of edges) a[s * n + t] = d;
  return a;
}

/**
 * The additive attention bias of layer 0, (heads, N, N): for each pair, an MLP of the embeddings
 * of the forward and backward distances. Pairs are computed once per distinct (A[i,j], A[j,i])
 * (about a hundred for a whole graph) and gathered, which is the same arithmetic per pair.
 */
function edgeBias(w: GraphormerWeights, a: Int32Array, n: number, sink: InternalsSink): tf.Tensor3D {
  const codes = new Map<number, number>();
  const pairIndex = new Int32Array(n * n);
  const fw: number[] = [];
  const bw: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const f = a[i * n + j] + 2;
      const b = a[j * n + i] + 2;
      if (f >= EDGE_ROWS || b >= EDGE_ROWS) {
        throw new CoreError('GHN_UNSUPPORTED', `GHN-3 embeds distances up to ${EDGE_ROWS - 3}, the graph has ${Math.max(f, b) - 2}`);
      }
      const code = f * EDGE_ROWS + b;
      let k = codes.get(code);
      if (k === undefined) {
        k = fw.length;
        codes.set(code, k);
        fw.push(f);
        bw.push(b);
      }
      pairIndex[i * n + j] = k;
    }
  }
  return tf.tidy(() => {
    const e = tf.concat([embed(w.edgeEmbed, fw), embed(w.edgeEmbed, bw)], 1);
    const perPair = linear(tf.relu(linear(e, w.projE1)), w.projE2);
    const heads = (perPair.shape as number[])[1];
    const bias = tf.reshape(tf.gather(perPair, tf.tensor1d(pairIndex, 'int32')), [n, n, heads]);
    if (sink) sink('ghn/attn_bias_layer0', tf.expandDims(bias, 0));
    return tf.transpose(bias, [2, 0, 1]) as tf.Tensor3D;
  });
}

/** Degree (real edges, capped at 100) and input-distance (capped at 1000) embeddings added to x before layer 0. */
function structureEmbedding(w: GraphormerWeights, a: Int32Array, n: number): tf.Tensor2D {
  const indeg = new Int32Array(n);
  const outdeg = new Int32Array(n);
  const dist = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (a[i * n + j] === 1) {
        outdeg[i]++;
        indeg[j]++;
      }
    }
    dist[i] = Math.min(Math.max(a[i], 0), MAX_INPUT_DIST);
  }
  const clip = (v: Int32Array): Int32Array => v.map((d) => Math.min(d, MAX_DEGREE));
  return tf.tidy(() =>
    tf.addN([embed(w.centralityIn, clip(indeg)), embed(w.centralityOut, clip(outdeg)), embed(w.inputDist, dist)]),
  ) as tf.Tensor2D;
}

function attention(l: GraphormerLayerWeights, x: tf.Tensor2D, bias: tf.Tensor3D, heads: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, hid] = x.shape;
    const dh = hid / heads;
    const qkv = tf.transpose(tf.reshape(linear(layerNorm(x, l.ln1), l.qkv), [n, 3, heads, dh]), [1, 2, 0, 3]);
    const [q, k, v] = tf.unstack(qkv, 0);
    const scores = tf.add(tf.mul(tf.matMul(q, tf.transpose(k, [0, 2, 1])), 1 / Math.sqrt(dh)), bias);
    const mixed = tf.matMul(tf.softmax(scores, -1), v);
    return linear(tf.reshape(tf.transpose(mixed, [1, 0, 2]), [n, hid]), l.out) as tf.Tensor2D;
  });
}

/** GHN-3's Graphormer (ghn3/graphormer.py): L pre-LN transformer layers sharing layer 0's edge bias. */
export function graphormer(w: GraphormerWeights, c: GhnConfig, x0: tf.Tensor2D, edges: readonly GhnEdge[], sink: InternalsSink): tf.Tensor2D {
  return tf.tidy(() => {
    const n = x0.shape[0];
    const a = denseDistances(n, edges);
    let x = tf.add(x0, structureEmbedding(w, a, n)) as tf.Tensor2D;
    const bias = edgeBias(w, a, n, sink);
    w.layers.forEach((l, i) => {
      x = tf.add(x, attention(l, x, bias, c.heads)) as tf.Tensor2D;
      x = tf.add(x, linear(gelu(linear(layerNorm(x, l.ln2), l.ff1)), l.ff2)) as tf.Tensor2D;
      if (sink) sink(`ghn/x_layer${i}`, x);
    });
    return x;
  });
}
