import * as tf from '@tensorflow/tfjs-core';

/**
 * The [inSize, outSize] matrix of PyTorch's bilinear interpolation along one axis
 * (align_corners=False: half-pixel centres, sources below 0 clamped to 0).
 */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(inSize * outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const lambda = src - i0;
    m[i0 * outSize + o] += 1 - lambda;
    m[i1 * outSize + o] += lambda;
  }
  return m;
}

/** Resizes the last two dims of x (any leading dims) to (outH, outW), as F.interpolate(mode='bilinear'). */
export function resizeBilinear(x: tf.Tensor, outH: number, outW: number): tf.Tensor {
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -2);
    const [h, w] = x.shape.slice(-2);
    const b = lead.reduce((a, d) => a * d, 1);
    const rw = tf.tensor2d(bilinearMatrix(w, outW), [w, outW]);
    const rh = tf.tensor2d(bilinearMatrix(h, outH), [h, outH]);
    const alongW = tf.reshape(tf.matMul(tf.reshape(x, [b * h, w]), rw), [b, h, outW]);
    const swapped = tf.reshape(tf.transpose(alongW, [0, 2, 1]), [b * outW, h]);
    const alongH = tf.reshape(tf.matMul(swapped, rh), [b, outW, outH]);
    return tf.reshape(tf.transpose(alongH, [0, 2, 1]), [...lead, outH, outW]);
  });
}
