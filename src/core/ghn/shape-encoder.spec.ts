import { channelTable, ShapeVocabulary, spatialTable, to4d } from './shape-encoder';
import { readJson } from './testing-ghn-fixtures';

interface ConfigJson {
  ctor_config: { num_classes: number; max_shape: number[] };
  shape_encoder: { channels: number[]; spatial: number[]; dummy_ind: number[]; rows_embed_channel: number[]; rows_embed_spatial: number };
}

describe('GHN shape encoder vocabulary', () => {
  it.each(['ghn3_h32_l3', 'ghn2mode_h32', 'ppuda_ghn2_h32'])('equals the official tables of %s', (name) => {
    const c = readJson<ConfigJson>('ghn', `${name}.json`);
    const vocab = new ShapeVocabulary(c.ctor_config.num_classes, c.ctor_config.max_shape[3]);
    expect(vocab.channels).toEqual(c.shape_encoder.channels);
    expect(vocab.spatial).toEqual(c.shape_encoder.spatial);
    expect(vocab.shapeIndices(null)).toEqual(c.shape_encoder.dummy_ind);
    expect(vocab.channels.length + 1).toBe(c.shape_encoder.rows_embed_channel);
  });

  it('has 391 channel values for 10, 100 or 1000 classes and S-dependent spatial tables', () => {
    for (const n of [10, 100, 1000]) expect(channelTable(n)).toHaveLength(391);
    expect(spatialTable(11)).toEqual([1, 3, 5, 7, 9, 11, 14, 16]);
    expect(spatialTable(16)).toEqual([1, 3, 5, 7, 9, 11, 13, 14, 15, 16]);
  });

  it('looks values up as the official dictionaries do', () => {
    const v = new ShapeVocabulary(1000, 16);
    const ch = (c: number): number => v.channels[v.channelIndex(c)];
    expect([1, 2, 3, 4, 7, 10, 12, 1000, 1001, 8192].map(ch)).toEqual([1, 1, 3, 8, 8, 8, 8, 1000, 1000, 8192]);
    expect(v.channelIndex(9000)).toBe(v.channels.length - 1);
    // 4–7 map to 8 even when num_classes puts them in the table.
    const five = new ShapeVocabulary(5, 16);
    expect(five.channels[five.channelIndex(5)]).toBe(8);
    const sp = (s: number): number => v.spatial[v.spatialIndex(s)];
    expect([1, 2, 4, 12, 14, 15, 16, 17, 64].map(sp)).toEqual([1, 3, 3, 11, 14, 15, 16, 16, 16]);
  });

  it('brings shapes to 4-D', () => {
    expect(to4d([7])).toEqual([7, 1, 1, 1]);
    expect(to4d([7, 5])).toEqual([7, 5, 1, 1]);
    expect(to4d([1, 197, 768])).toEqual([1, 768, 14, 14]);
    expect(to4d([96, 1, 1])).toEqual([96, 1, 1, 1]);
    expect(to4d([8, 4, 3, 3])).toEqual([8, 4, 3, 3]);
  });
});
