import type { ArchitectureGraph } from '../../core/graph/ir';
import { ServiceError } from '../../core/service-error';
import { checkModelFitsDataset } from './evaluation-request';

function graph(input: (number | string)[], output: (number | string)[], opType = 'Gemm'): ArchitectureGraph {
  return {
    name: 'g',
    opset: 17,
    inputs: [{ name: 'x', dtype: 'F32', shape: input }],
    outputs: [{ name: 'y', dtype: 'F32', shape: output }],
    initializers: [{ name: 'fc.weight', dtype: 'F32', shape: [3, 4], isParameter: true }],
    nodes: [{ name: 'n', opType, inputs: ['x', 'fc.weight'], outputs: ['y'], attributes: {} }],
  };
}

const dataset = { id: 'd', shape: [10, 1, 2, 2] as [number, number, number, number], classCount: 3 };
const names = new Set(['fc.weight']);

function failure(fn: () => void): ServiceError {
  try {
    fn();
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected a refusal');
}

describe('checkModelFitsDataset', () => {
  it('accepts symbolic or equal dimensions', () => {
    expect(() => checkModelFitsDataset(graph(['batch', 1, 2, 2], ['batch', 3]), names, dataset, 'eval', 'c')).not.toThrow();
    expect(() => checkModelFitsDataset(graph(['batch', 'c', 'h', 'w'], ['batch', 'k']), names, dataset, 'eval', 'c')).not.toThrow();
  });

  it('refuses another image shape or class count, missing weights and untrainable ops for recalibration', () => {
    expect(failure(() => checkModelFitsDataset(graph(['batch', 3, 2, 2], ['batch', 3]), names, dataset, 'eval', 'c'))).toMatchObject({ code: 'DATASET_MODEL_MISMATCH', details: { reason: 'input-shape' } });
    expect(failure(() => checkModelFitsDataset(graph(['batch', 1, 2], ['batch', 3]), names, dataset, 'eval', 'c'))).toMatchObject({ code: 'DATASET_MODEL_MISMATCH', details: { reason: 'input-shape' } });
    expect(failure(() => checkModelFitsDataset(graph(['batch', 1, 2, 2], ['batch', 10]), names, dataset, 'eval', 'c'))).toMatchObject({ code: 'DATASET_MODEL_MISMATCH', details: { reason: 'class-count' } });
    expect(failure(() => checkModelFitsDataset(graph(['batch', 1, 2, 2], ['batch', 3]), new Set(), dataset, 'eval', 'c')).code).toBe('CHECKPOINT_ARCHITECTURE_MISMATCH');
    expect(() => checkModelFitsDataset(graph(['batch', 1, 2, 2], ['batch', 3], 'ReduceMax'), names, dataset, 'eval', 'c')).not.toThrow();
    expect(failure(() => checkModelFitsDataset(graph(['batch', 1, 2, 2], ['batch', 3], 'ReduceMax'), names, dataset, 'recalibrate', 'c'))).toMatchObject({ code: 'EVALUATION_INVALID', details: { ops: ['ReduceMax'] } });
  });
});
