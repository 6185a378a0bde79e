import { BATCH, type Dim, type GraphBuilder, invalidArgument } from './graph-builder';
import { activation, add, conv2d, layerNorm, linear } from './nn';

/**
 * VisionTransformer B/16, B/32, L/16, L/32, H/14 (torchvision vision_transformer.py), written
 * node for node as the TorchScript exporter traces it with a dynamic batch: the shape
 * arithmetic of `_process_input`, `class_token.expand` and `F.multi_head_attention_forward`
 * (Shape/Gather/Unsqueeze/Concat feeding Reshape) is part of the export, so it is part of the zoo
 * graph too. Only the Reshape/Gather data inputs carry activations.
 */

export interface VitConfig {
  patch: number;
  layers: number;
  heads: number;
  hidden: number;
  mlp: number;
}

export const VIT_CONFIGS: Record<string, VitConfig> = {
  vit_b_16: { patch: 16, layers: 12, heads: 12, hidden: 768, mlp: 3072 },
  vit_b_32: { patch: 32, layers: 12, heads: 12, hidden: 768, mlp: 3072 },
  vit_l_16: { patch: 16, layers: 24, heads: 16, hidden: 1024, mlp: 4096 },
  vit_l_32: { patch: 32, layers: 24, heads: 16, hidden: 1024, mlp: 4096 },
  vit_h_14: { patch: 14, layers: 32, heads: 16, hidden: 1280, mlp: 5120 },
};

/** INT64_MAX as a JS number (what any int64 → number conversion of the exporter's constant gives). */
const INT64_MAX = 2 ** 63;
const EPS = 1e-6;

/** Exporter-style shape arithmetic on int64 tensors. */
class ShapeOps {
  constructor(private readonly b: GraphBuilder) {}

  scalar(v: number): string {
    return this.b.constant([v], [], 'I64');
  }

  vector(vs: number[]): string {
    return this.b.constant(vs, [vs.length], 'I64');
  }

  shape(x: string): string {
    return this.b.op('Shape', [x], {}, [this.b.shape(x).length], 'I64');
  }

  /** `x.shape[axis]` as Shape → Gather. */
  size(x: string, axis: number): string {
    const s = this.shape(x);
    return this.b.op('Gather', [s, this.scalar(axis)], { axis: 0 }, [], 'I64');
  }

  /** Integer `a // c` as Div and two Casts. */
  floorDiv(a: string, c: number): string {
    const d = this.b.op('Div', [a, this.scalar(c)], {}, [], 'I64');
    return this.b.op('Cast', [this.b.op('Cast', [d], { to: 7 }, [], 'I64')], { to: 7 }, [], 'I64');
  }

  unsqueeze(x: string): string {
    const shape = this.b.shape(x);
    return this.b.op('Unsqueeze', [x, this.vector([0])], {}, [1, ...shape], this.b.dtype(x));
  }

  /** A 1-D shape tensor from scalars (or scalar-valued constants), as Unsqueeze + Concat. */
  pack(parts: (string | number)[]): string {
    const unsqueezed = parts.map((p) => this.unsqueeze(typeof p === 'number' ? this.scalar(p) : p));
    return this.b.op('Concat', unsqueezed, { axis: 0 }, [parts.length], 'I64');
  }

  reshape(x: string, shape: string, outShape: Dim[], allowzero = true): string {
    return this.b.op('Reshape', [x, shape], allowzero ? { allowzero: 0 } : {}, outShape, this.b.dtype(x));
  }

  transpose(x: string, perm: number[]): string {
    const s = this.b.shape(x);
    return this.b.op('Transpose', [x], { perm }, perm.map((p) => s[p]), this.b.dtype(x));
  }
}

const times = (n: number): string => `${BATCH}*${n}`;

/** nn.MultiheadAttention(x, x, x, need_weights=False) with batch_first=True, as exported. */
function selfAttention(b: GraphBuilder, x: string, heads: number): string {
  const ops = new ShapeOps(b);
  const [, seq, hidden] = b.shape(x) as [Dim, number, number];
  const headDim = hidden / heads;
  const inWeight = b.param('in_proj_weight', [3 * hidden, hidden]);
  const inBias = b.param('in_proj_bias', [3 * hidden]);
  const [outWeight, outBias] = b.module('out_proj', () => [b.param('weight', [hidden, hidden]), b.param('bias', [hidden])]);

  const xt = ops.transpose(x, [1, 0, 2]);
  const tgtLen = ops.size(xt, 0);
  const bsz = ops.size(xt, 1);
  const embed = ops.size(xt, 2);
  const hd = ops.floorDiv(embed, heads);
  const lastDims = b.op('Slice', [ops.shape(xt), ops.vector([-1]), ops.vector([INT64_MAX]), ops.vector([0])], {}, [1], 'I64');
  const lastDim = b.op('Squeeze', [lastDims, ops.vector([0])], {}, [], 'I64');

  // Packed in-projection, then unflatten(-1, (3, E)).
  const wt = b.op('Transpose', [inWeight], { perm: [1, 0] }, [hidden, 3 * hidden]);
  const mm = b.op('MatMul', [xt, wt], {}, [seq, BATCH, 3 * hidden]);
  const proj = b.op('Add', [inBias, mm], {}, [seq, BATCH, 3 * hidden]);
  const sizes = b.op('Concat', [ops.unsqueeze(ops.scalar(3)), ops.unsqueeze(lastDim)], { axis: 0 }, [2], 'I64');
  const dimPlus = b.op('Add', [ops.vector([3]), ops.scalar(-1)], {}, [1], 'I64');
  const dim = b.op('Mod', [dimPlus, ops.vector([3])], {}, [1], 'I64');
  const projShape = ops.shape(proj);
  const end = b.op('Reshape', [dim, ops.vector([1])], {}, [1], 'I64');
  const head = b.op('Slice', [projShape, ops.vector([0]), end], {}, [2], 'I64');
  const next = b.op('Add', [dim, ops.vector([1])], {}, [1], 'I64');
  const start = b.op('Reshape', [next, ops.vector([1])], {}, [1], 'I64');
  const tail = b.op('Slice', [projShape, start, ops.vector([INT64_MAX])], {}, [0], 'I64');
  const unflat = b.op('Concat', [head, sizes, tail], { axis: 0 }, [4], 'I64');
  const qkv5 = ops.reshape(proj, unflat, [seq, BATCH, 3, hidden]);
  const lifted = b.op('Unsqueeze', [qkv5, ops.vector([0])], {}, [1, seq, BATCH, 3, hidden]);
  const moved = ops.transpose(lifted, [3, 1, 2, 0, 4]);
  const qkv = b.op('Squeeze', [moved, ops.vector([3])], {}, [3, seq, BATCH, hidden]);
  const [q, k, v] = [0, 1, 2].map((i) => b.op('Gather', [qkv, ops.scalar(i)], { axis: 0 }, [seq, BATCH, hidden]));

  // (L, N, E) → (N·H, L, hd) for q, k, v.
  const bh = b.op('Mul', [bsz, ops.scalar(heads)], {}, [], 'I64');
  const split = (t: string, len: string | number): string => {
    const r = ops.reshape(t, ops.pack([len, bh, hd]), [seq, times(heads), headDim]);
    return ops.transpose(r, [1, 0, 2]);
  };
  const qh = split(q, tgtLen);
  const kh = split(k, seq);
  const vh = split(v, seq);
  const srcLen = ops.size(kh, 1);
  const q4 = ops.reshape(qh, ops.pack([bsz, heads, tgtLen, hd]), [BATCH, heads, seq, headDim]);
  const kShape = ops.pack([bsz, heads, srcLen, hd]);
  const vShape = ops.pack([bsz, heads, srcLen, hd]);
  const k4 = ops.reshape(kh, kShape, [BATCH, heads, seq, headDim]);
  const v4 = ops.reshape(vh, vShape, [BATCH, heads, seq, headDim]);

  // scaled_dot_product_attention: both operands scaled by sqrt(1 / sqrt(hd)).
  const last = b.op('Slice', [ops.shape(q4), ops.vector([-1]), ops.vector([INT64_MAX])], {}, [1], 'I64');
  const root = b.op('Sqrt', [b.op('Cast', [last], { to: 1 }, [1])], {}, [1]);
  const scale = b.op('Cast', [b.op('Div', [b.constant([1], [1], 'F32'), root], {}, [1])], { to: 1 }, [1]);
  const kT = ops.transpose(k4, [0, 1, 3, 2]);
  const qs = b.op('Mul', [q4, b.op('Sqrt', [scale], {}, [1])], {}, b.shape(q4));
  const ks = b.op('Mul', [kT, b.op('Sqrt', [scale], {}, [1])], {}, b.shape(kT));
  const scores = b.op('MatMul', [qs, ks], {}, [BATCH, heads, seq, seq]);
  const weights = b.op('Softmax', [scores], { axis: -1 }, [BATCH, heads, seq, seq]);
  const context = b.op('MatMul', [weights, v4], {}, [BATCH, heads, seq, headDim]);

  // (N, H, L, hd) → (L·N, E) → out_proj → (L, N, E) → batch first.
  const lnh = ops.transpose(context, [2, 0, 1, 3]);
  const rows = b.op('Mul', [bsz, tgtLen], {}, [], 'I64');
  const flat = ops.reshape(lnh, ops.pack([rows, embed]), [times(seq), hidden]);
  const out = b.op('Gemm', [flat, outWeight, outBias], { alpha: 1, beta: 1, transB: 1 }, [times(seq), hidden]);
  const outDim = ops.size(out, 1);
  const unflattened = ops.reshape(out, ops.pack([tgtLen, bsz, outDim]), [seq, BATCH, hidden]);
  return ops.transpose(unflattened, [1, 0, 2]);
}

function encoderBlock(b: GraphBuilder, x: string, c: VitConfig): string {
  let y = layerNorm(b, 'ln_1', x, EPS);
  y = b.module('self_attention', () => selfAttention(b, y, c.heads));
  const residual = add(b, y, x);
  const normed = layerNorm(b, 'ln_2', residual, EPS);
  const mlp = b.module('mlp', () => {
    // 2 and 4 are Dropout, absent in eval.
    const z = linear(b, 0, normed, c.mlp);
    return linear(b, 3, activation(b, 'gelu', 1, z), c.hidden);
  });
  return add(b, residual, mlp);
}

export function visionTransformer(b: GraphBuilder, numClasses: number, c: VitConfig): string {
  const ops = new ShapeOps(b);
  const imageSize = b.dim(b.input, 2);
  if (imageSize % c.patch !== 0) {
    throw invalidArgument(`image size must be a multiple of the patch size ${c.patch}`, { imageSize });
  }
  const grid = imageSize / c.patch;
  const seq = grid * grid + 1;
  const classToken = b.param('class_token', [1, 1, c.hidden]);

  // _process_input: conv_proj, reshape(n, hidden, n_h * n_w), permute(0, 2, 1).
  const n = ops.size(b.input, 0);
  const h = ops.size(b.input, 2);
  const w = ops.size(b.input, 3);
  const nh = ops.floorDiv(h, c.patch);
  const nw = ops.floorDiv(w, c.patch);
  const patches = conv2d(b, 'conv_proj', b.input, c.hidden, { kernel: c.patch, stride: c.patch });
  const cells = b.op('Mul', [nh, nw], {}, [], 'I64');
  const tokens = ops.reshape(patches, ops.pack([n, c.hidden, cells]), [BATCH, c.hidden, grid * grid]);
  let x = ops.transpose(tokens, [0, 2, 1]);

  // class_token.expand(n, -1, -1): -1 entries become 1 through the exporter's Where.
  const batch = ops.size(x, 0);
  const requested = ops.reshape(ops.pack([batch, -1, -1]), ops.vector([-1]), [3]);
  const ones = b.op('ConstantOfShape', [ops.shape(requested)], { value: { dtype: 'I64', shape: [1], values: [1] } }, [3], 'I64');
  const minusOnes = b.op('Mul', [ones, ops.scalar(-1)], {}, [3], 'I64');
  const isMinusOne = b.op('Equal', [requested, minusOnes], {}, [3], 'BOOL');
  const expandShape = b.op('Where', [isMinusOne, ones, requested], {}, [3], 'I64');
  const expanded = b.op('Expand', [classToken, expandShape], {}, [BATCH, 1, c.hidden]);
  x = b.op('Concat', [expanded, x], { axis: 1 }, [BATCH, seq, c.hidden]);

  x = b.module('encoder', () => {
    const pos = b.param('pos_embedding', [1, seq, c.hidden]);
    let y = add(b, x, pos);
    y = b.module('layers', () => {
      let z = y;
      for (let i = 0; i < c.layers; i++) z = b.module(`encoder_layer_${i}`, () => encoderBlock(b, z, c));
      return z;
    });
    return layerNorm(b, 'ln', y, EPS);
  });
  const cls = b.op('Gather', [x, ops.scalar(0)], { axis: 1 }, [BATCH, c.hidden]);
  return b.module('heads', () => linear(b, 'head', cls, numClasses));
}
