import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import type { GhnEdge } from '../graph/ghn/ghn-graph';
import type { Dense, GatedGnnWeights } from './ghn-weights';
import type { InternalsSink } from './graphormer';
import { linear } from './nn';

/** Linear → ReLU → Linear → ReLU (ppuda MLP; the last ReLU is applied). */
function mlp(layers: [Dense, Dense], x: tf.Tensor): tf.Tensor {
  return tf.relu(linear(tf.relu(linear(x, layers[0])), layers[1]));
}

/** nn.GRUCell with PyTorch's gate layout [r; z; n]. */
function gruCell(w: GatedGnnWeights, m: tf.Tensor, h: tf.Tensor): tf.Tensor {
  const [ir, iz, inn] = tf.split(linear(m, w.gruIh), 3, 1);
  const [hr, hz, hn] = tf.split(linear(h, w.gruHh), 3, 1);
  const r = tf.sigmoid(tf.add(ir, hr));
  const z = tf.sigmoid(tf.add(iz, hz));
  const n = tf.tanh(tf.add(inn, tf.mul(r, hn)));
  return tf.add(n, tf.mul(z, tf.sub(h, n)));
}

interface Neighbour {
  node: number;
  dist: number;
}

/**
 * GHN-2's GatedGNN with virtual edges (ppuda/ghn/gatedgnn.py): one forward sweep (nodes 0..M) and one
 * backward sweep (M..0), M the largest edge destination; each node's state is updated by a GRU
 * from Σ mlp(h_u) over real neighbours + Σ mlp_ve(h_u)/d over all, using states already updated
 * in the sweep. mlp(h_u) is cached per state version, so each update costs one MLP pair.
 */
export function gatedGnn(w: GatedGnnWeights, x0: tf.Tensor2D, edges: readonly GhnEdge[], sink: InternalsSink): tf.Tensor2D {
  if (edges.length === 0) throw new CoreError('GHN_UNSUPPORTED', 'the GatedGNN needs a graph with at least one edge');
  const n = x0.shape[0];
  const last = edges.reduce((m, e) => Math.max(m, e[1]), 0);
  const incoming: Neighbour[][] = Array.from({ length: n }, () => []);
  const outgoing: Neighbour[][] = Array.from({ length: n }, () => []);
  for (const [s, t, d] of edges) {
    incoming[t].push({ node: s, dist: d });
    outgoing[s].push({ node: t, dist: d });
  }
  const h: tf.Tensor[] = tf.split(x0, n, 0).map((t) => tf.keep(t));
  const cache: ({ real: tf.Tensor; virtual: tf.Tensor | null } | null)[] = new Array(n).fill(null);
  const gruIn: tf.Tensor[] = [];
  const gruOut: tf.Tensor[] = [];
  const messagesOf = (u: number): { real: tf.Tensor; virtual: tf.Tensor | null } => {
    let c = cache[u];
    if (!c) {
      const ve = w.mlpVe;
      c = { real: tf.tidy(() => mlp(w.mlp, h[u])), virtual: ve ? tf.tidy(() => mlp(ve, h[u])) : null };
      cache[u] = c;
    }
    return c;
  };
  const dropCache = (u: number): void => {
    const c = cache[u];
    if (c) tf.dispose([c.real, ...(c.virtual ? [c.virtual] : [])]);
    cache[u] = null;
  };
  try {
    for (const forward of [true, false]) {
      for (let k = 0; k <= last; k++) {
        const v = forward ? k : last - k;
        const neighbours = forward ? incoming[v] : outgoing[v];
        const parts: tf.Tensor[] = [];
        const coefs: number[] = [];
        for (const { node, dist } of neighbours) {
          const msg = messagesOf(node);
          if (dist === 1) {
            parts.push(msg.real);
            coefs.push(1);
          }
          if (msg.virtual) {
            parts.push(msg.virtual);
            coefs.push(1 / dist);
          }
        }
        const next = tf.tidy(() => {
          const m =
            parts.length === 0 ? tf.zerosLike(h[v]) : tf.matMul(tf.tensor2d(coefs, [1, coefs.length]), tf.concat(parts, 0));
          const updated = gruCell(w, m, h[v]);
          if (sink) {
            gruIn.push(tf.keep(m));
            gruOut.push(tf.keep(updated.clone()));
          }
          return updated;
        });
        h[v].dispose();
        h[v] = next;
        dropCache(v);
      }
    }
    return tf.tidy(() => {
      if (sink) {
        sink('ghn/gru_in', tf.concat(gruIn, 0));
        sink('ghn/gru_out', tf.concat(gruOut, 0));
      }
      return tf.concat(h, 0) as tf.Tensor2D;
    });
  } finally {
    tf.dispose([...h, ...gruIn, ...gruOut]);
    for (let u = 0; u < n; u++) dropCache(u);
  }
}
