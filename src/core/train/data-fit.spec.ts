import { buildZooModel } from '../graph/zoo';
import { checkDatasetFits } from './data-fit';

describe('checkDatasetFits', () => {
  const resnet20 = buildZooModel('resnet20', { inChannels: 1, imageSize: 28, numClasses: 10 });
  const code = { code: 'TRAINING_DATA_MISMATCH' };

  it('accepts images the model takes and no more classes than it has outputs', () => {
    expect(() => checkDatasetFits(resnet20, [70000, 1, 28, 28], 10)).not.toThrow();
    expect(() => checkDatasetFits(resnet20, [10, 1, 28, 28], 3)).not.toThrow();
  });

  it('refuses other channels, other sizes of a fixed-size input and more classes than outputs', () => {
    expect(() => checkDatasetFits(resnet20, [10, 3, 28, 28], 10)).toThrow(expect.objectContaining(code));
    expect(() => checkDatasetFits(resnet20, [10, 1, 32, 32], 10)).toThrow(expect.objectContaining(code));
    expect(() => checkDatasetFits(resnet20, [10, 1, 28, 28], 11)).toThrow(expect.objectContaining({ ...code, details: { outputs: 10, classCount: 11 } }));
  });

  it('refuses a size the layers cannot take even when the declared input is symbolic', () => {
    const symbolic = { ...resnet20, inputs: [{ ...resnet20.inputs[0], shape: ['batch', 1, 'height', 'width'] }] };
    expect(() => checkDatasetFits(symbolic, [10, 1, 28, 28], 10)).not.toThrow();
    expect(() => checkDatasetFits(symbolic, [10, 1, 0, 0], 10)).toThrow(expect.objectContaining(code));
  });
});
