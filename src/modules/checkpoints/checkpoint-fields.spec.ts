import { ServiceError } from '../../core/service-error';
import { parseUploadFields } from './checkpoint-fields';

const ID_A = '7d3f1c2e-0b4a-4c5d-9e8f-0123456789ab';
const ID_B = 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE';

function invalidField(fields: Record<string, string>, filename = 'model.safetensors'): ServiceError {
  try {
    parseUploadFields(fields, filename);
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceError);
    expect((e as ServiceError).code).toBe('INVALID_FIELD');
    return e as ServiceError;
  }
  throw new Error('expected INVALID_FIELD');
}

describe('parseUploadFields', () => {
  it('defaults everything but the name, which comes from the file name without its extension', () => {
    expect(parseUploadFields({}, 'resnet18.final.safetensors')).toEqual({
      name: 'resnet18.final',
      architectureId: null,
      tags: [],
      metrics: {},
      parentIds: [],
    });
    expect(parseUploadFields({}, 'weights').name).toBe('weights');
  });

  it('trims an explicit name and checks its length', () => {
    expect(parseUploadFields({ name: '  my run  ' }, 'x.pt').name).toBe('my run');
    expect(parseUploadFields({ name: 'n'.repeat(200) }, 'x.pt').name).toHaveLength(200);
    expect(invalidField({ name: 'n'.repeat(201) }).details).toEqual({ field: 'name' });
    expect(invalidField({}, '.safetensors').details).toEqual({ field: 'name' });
  });

  it('reads tags from a JSON array or a comma list, trimmed and deduplicated in order', () => {
    expect(parseUploadFields({ tags: '["b", "a", "b", " c "]' }, 'x.pt').tags).toEqual(['b', 'a', 'c']);
    expect(parseUploadFields({ tags: 'b, a,,b , task:cifar10 ' }, 'x.pt').tags).toEqual(['b', 'a', 'task:cifar10']);
    expect(parseUploadFields({ tags: '  ' }, 'x.pt').tags).toEqual([]);
    expect(parseUploadFields({ tags: 'lr=0.1,v1.2/x+y_z-w' }, 'x.pt').tags).toEqual(['lr=0.1', 'v1.2/x+y_z-w']);
  });

  it.each([
    ['["a",', 'is not valid JSON'],
    ['["a", 1]', 'JSON array of strings'],
    ['has space', 'must match'],
    ['-leading-dash', 'must match'],
    ['["ok", ""]', 'must match'],
    ['naïve', 'must match'],
    ['t'.repeat(101), 'must match'],
    [Array.from({ length: 51 }, (_, i) => `t${i}`).join(','), 'at most 50'],
  ])('rejects tags %j', (tags, message) => {
    const error = invalidField({ tags });
    expect(error.details).toEqual({ field: 'tags' });
    expect(error.message).toContain(message);
  });

  it('reads metrics as a JSON object of finite numbers', () => {
    expect(parseUploadFields({ metrics: '{"top1": 0.71, "loss": 1.5e-3, "epoch": 90}' }, 'x.pt').metrics).toEqual({ top1: 0.71, loss: 0.0015, epoch: 90 });
    expect(parseUploadFields({ metrics: ' ' }, 'x.pt').metrics).toEqual({});
  });

  it.each([
    ['{"top1": 0.7', 'is not valid JSON'],
    ['[1, 2]', 'JSON object of numbers'],
    ['null', 'JSON object of numbers'],
    ['3', 'JSON object of numbers'],
    ['{"top1": "0.7"}', 'metric "top1" must be a finite number'],
    ['{"top1": null}', 'must be a finite number'],
    ['{"a": {"b": 1}}', 'must be a finite number'],
    ['{"big": 1e999}', 'must be a finite number'],
  ])('rejects metrics %j', (metrics, message) => {
    const error = invalidField({ metrics });
    expect(error.details).toEqual({ field: 'metrics' });
    expect(error.message).toContain(message);
  });

  it('accepts a UUID architectureId in any case, and treats a blank one as absent', () => {
    expect(parseUploadFields({ architectureId: ` ${ID_A} ` }, 'x.pt').architectureId).toBe(ID_A);
    expect(parseUploadFields({ architectureId: ID_B }, 'x.pt').architectureId).toBe(ID_B);
    expect(parseUploadFields({ architectureId: '' }, 'x.pt').architectureId).toBeNull();
  });

  it.each(['resnet18', '7d3f1c2e0b4a4c5d9e8f0123456789ab', `${ID_A}x`, `{${ID_A}}`])('rejects architectureId %j', (architectureId) => {
    expect(invalidField({ architectureId }).details).toEqual({ field: 'architectureId' });
  });

  it('reads parentIds like tags, deduplicated, each a UUID', () => {
    expect(parseUploadFields({ parentIds: `["${ID_A}", "${ID_B}", "${ID_A}"]` }, 'x.pt').parentIds).toEqual([ID_A, ID_B]);
    expect(parseUploadFields({ parentIds: `${ID_A}, ${ID_B}` }, 'x.pt').parentIds).toEqual([ID_A, ID_B]);
    const error = invalidField({ parentIds: `${ID_A},not-a-uuid` });
    expect(error.details).toEqual({ field: 'parentIds' });
    expect(error.message).toContain('"not-a-uuid" is not a UUID');
    expect(invalidField({ parentIds: '[1]' }).details).toEqual({ field: 'parentIds' });
    expect(invalidField({ parentIds: '[' }).details).toEqual({ field: 'parentIds' });
  });

  it('rejects an unknown field, naming it', () => {
    const error = invalidField({ name: 'ok', description: 'nope' });
    expect(error.details).toEqual({ field: 'description' });
    expect(error.message).toMatch(/^description: unknown field/);
  });

  it('parses a full, valid upload', () => {
    expect(
      parseUploadFields(
        { name: 'soup', architectureId: ID_A, tags: 'soup,final', metrics: '{"top1":0.8}', parentIds: `["${ID_B}"]` },
        'ignored.safetensors',
      ),
    ).toEqual({ name: 'soup', architectureId: ID_A, tags: ['soup', 'final'], metrics: { top1: 0.8 }, parentIds: [ID_B] });
  });
});
