import type { GraphNode } from '../graph/ir';
import { evaluateHostNode, hostValue, reshapeTarget, resolveSlice, type HostValue } from './host-ops';

const n = (opType: string, attributes: GraphNode['attributes'] = {}): GraphNode => ({ name: opType, opType, inputs: [], outputs: ['y'], attributes });
const i64 = (values: number[], shape = [values.length]): HostValue => hostValue('I64', shape, values);
const f32 = (values: number[], shape = [values.length]): HostValue => hostValue('F32', shape, values);
const run = (node: GraphNode, ...inputs: (HostValue | undefined)[]): HostValue => (evaluateHostNode(node, inputs) as HostValue[])[0];

describe('host evaluation of shape arithmetic', () => {
  it('divides integers toward zero and floats exactly, rounding to float32', () => {
    expect(run(n('Div'), i64([7, -7]), i64([2])).values).toEqual([3, -3]);
    expect(run(n('Div'), f32([1]), f32([3])).values).toEqual([Math.fround(1 / 3)]);
    expect(run(n('Sqrt'), f32([2])).values).toEqual([Math.fround(Math.SQRT2)]);
  });

  it('Mod follows the divisor sign unless fmod', () => {
    expect(run(n('Mod'), i64([5, -5, 5]), i64([3, 3, -3])).values).toEqual([2, 1, -1]);
    expect(run(n('Mod', { fmod: 1 }), f32([5.5, -5.5]), f32([2])).values).toEqual([1.5, -1.5]);
  });

  it('broadcasts Where/Equal and Mul like numpy', () => {
    const eq = run(n('Equal'), i64([1, -1, 3]), i64([-1]));
    expect(eq).toEqual({ dtype: 'BOOL', shape: [3], values: [0, 1, 0] });
    expect(run(n('Where'), eq, i64([1]), i64([1, -1, 3])).values).toEqual([1, 1, 3]);
    expect(run(n('Mul'), i64([1, 2], [2, 1]), i64([10, 100, 1000], [1, 3]))).toEqual(i64([10, 100, 1000, 20, 200, 2000], [2, 3]));
  });

  it('gathers, concatenates, unsqueezes and squeezes', () => {
    expect(run(n('Gather', { axis: 0 }), i64([2, 3, 32, 32]), i64([-1], []))).toEqual(i64([32], []));
    expect(run(n('Gather', { axis: 1 }), i64([1, 2, 3, 4, 5, 6], [2, 3]), i64([2, 0]))).toEqual(i64([3, 1, 6, 4], [2, 2]));
    expect(run(n('Concat', { axis: 0 }), i64([2]), i64([-1, 64]))).toEqual(i64([2, -1, 64]));
    expect(run(n('Unsqueeze'), i64([5], []), i64([0])).shape).toEqual([1]);
    expect(run(n('Squeeze'), i64([5], [1, 1]), i64([-1])).shape).toEqual([1]);
  });

  it('slices with clamped int64 ends and negative steps', () => {
    expect(run(n('Slice'), i64([2, 17, 64]), i64([-1]), i64([2 ** 63]), i64([0])).values).toEqual([64]);
    expect(run(n('Slice'), i64([0, 1, 2, 3, 4]), i64([-1]), i64([-100]), i64([0]), i64([-2])).values).toEqual([4, 2, 0]);
    expect(resolveSlice([5], [10], [20])).toEqual([{ axis: 0, start: 5, step: 1, count: 0 }]);
  });

  it('casts with truncation and reshapes with 0 and -1', () => {
    expect(run(n('Cast', { to: 7 }), f32([2.7, -2.7])).values).toEqual([2, -2]);
    expect(run(n('Cast', { to: 9 }), f32([0, 0.5])).values).toEqual([0, 1]);
    expect(reshapeTarget([2, 3, 4], [0, -1], false)).toEqual([2, 12]);
    expect(reshapeTarget([0, 3], [0, -1], true)).toEqual([0, 0]);
    expect(() => reshapeTarget([2, 3], [4, -1], false)).toThrow(/cannot reshape/);
  });

  it('transposes and leaves large results to the backend', () => {
    expect(run(n('Transpose', { perm: [1, 0] }), i64([1, 2, 3, 4, 5, 6], [2, 3]))).toEqual(i64([1, 4, 2, 5, 3, 6], [3, 2]));
    expect(evaluateHostNode(n('ConstantOfShape'), [i64([1000, 1000])])).toBeUndefined();
    expect(run(n('ConstantOfShape', { value: { dtype: 'I64', shape: [1], values: [1] } }), i64([3]))).toEqual(i64([1, 1, 1]));
  });
});
