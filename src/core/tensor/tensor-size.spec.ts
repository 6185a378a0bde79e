import { boundedElementCount, MAX_TENSOR_ELEMENTS } from './tensor-size';

describe('boundedElementCount', () => {
  it('counts numeric dims, symbolic dims as 1, a scalar as 1', () => {
    expect(boundedElementCount([2, 3, 4])).toBe(24);
    expect(boundedElementCount(['batch', 3, 224, 224])).toBe(3 * 224 * 224);
    expect(boundedElementCount([])).toBe(1);
    expect(boundedElementCount([0, 5])).toBe(0);
    expect(boundedElementCount([MAX_TENSOR_ELEMENTS])).toBe(MAX_TENSOR_ELEMENTS);
  });

  it('refuses a dim or a count over the limit, without overflowing', () => {
    expect(MAX_TENSOR_ELEMENTS).toBe(2 ** 31 - 1);
    expect(boundedElementCount([2 ** 31])).toBeNull();
    expect(boundedElementCount(['batch', 3, 2 ** 31, 2 ** 31])).toBeNull();
    expect(boundedElementCount([1e12, 3, 224, 224])).toBeNull();
    expect(boundedElementCount([65536, 32768])).toBeNull();
    expect(boundedElementCount([0, 2 ** 30, 2 ** 30])).toBeNull();
    expect(boundedElementCount([10, 10], 99)).toBeNull();
    expect(boundedElementCount([10, 10], 100)).toBe(100);
  });

  it('refuses dims that are not non-negative safe integers', () => {
    expect(boundedElementCount([-1, 3])).toBeNull();
    expect(boundedElementCount([1.5])).toBeNull();
    expect(boundedElementCount([Number.NaN])).toBeNull();
  });
});
