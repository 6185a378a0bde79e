/**
 * The most elements one tensor may have: 2^31 - 1, the largest length every typed array, ONNX
 * Runtime and TF.js backend here can index. Shapes over it are refused where they enter (graph
 * documents, inference requests) rather than failing to allocate later.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/**
 * The element count of a shape's numeric dims (symbolic dims such as `batch` count as 1), or null
 * when a dim is not a non-negative safe integer or the product of the non-zero dims exceeds `max`
 * (an empty tensor with absurd dims is refused too). The product is checked as it grows, so huge
 * dims never overflow into an unsafe number.
 */
export function boundedElementCount(shape: readonly (number | string)[], max = MAX_TENSOR_ELEMENTS): number | null {
  let count = 1;
  let zero = false;
  for (const d of shape) {
    if (typeof d === 'string') continue;
    if (!Number.isSafeInteger(d) || d < 0 || d > max) return null;
    if (d === 0) zero = true;
    else count *= d;
    if (count > max) return null;
  }
  return zero ? 0 : count;
}
