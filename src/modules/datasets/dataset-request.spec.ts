import { ServiceError } from '../../core/service-error';
import { parseUploadFields } from './dataset-request';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as ServiceError).code;
  }
  return 'none';
}

describe('parseUploadFields', () => {
  it('defaults the name to the file name and the split to seed 0, 0.1, 0.2', () => {
    expect(parseUploadFields({}, 'digits.tar.gz')).toEqual({ name: 'digits', split: { seed: 0, validation: 0.1, test: 0.2 } });
    expect(parseUploadFields({ name: 'x', seed: '7', validation: '0', test: '0.5', height: '28', width: '32', channels: '3' }, 'a.zip')).toEqual({
      name: 'x',
      split: { seed: 7, validation: 0, test: 0.5 },
      archive: { height: 28, width: 32, channels: 3 },
    });
  });

  it('refuses unknown, malformed or inconsistent fields with stable codes', () => {
    expect(code(() => parseUploadFields({ colour: 'red' }, 'a'))).toBe('INVALID_FIELD');
    expect(code(() => parseUploadFields({ seed: '-1' }, 'a'))).toBe('INVALID_FIELD');
    expect(code(() => parseUploadFields({ seed: '1.5' }, 'a'))).toBe('INVALID_FIELD');
    expect(code(() => parseUploadFields({ validation: '1' }, 'a'))).toBe('INVALID_FIELD');
    expect(code(() => parseUploadFields({ validation: '0.5', test: '0.5' }, 'a'))).toBe('INVALID_FIELD');
    expect(code(() => parseUploadFields({ height: '28' }, 'a'))).toBe('INVALID_FIELD');
    expect(code(() => parseUploadFields({ height: '28', width: '28', channels: '2' }, 'a'))).toBe('INVALID_FIELD');
    expect(code(() => parseUploadFields({ name: 'a\u0000b' }, 'a'))).toBe('VALIDATION_FAILED');
  });
});
