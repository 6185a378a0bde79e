import { CoreError } from '../errors';
import { writeZip } from '../formats/torch/testing/checkpoint-writers';
import { bufferSource } from '../io/random-access';
import { readImageFolderArchive, type ImageFolderOptions } from './image-folder';
import { encodeJpeg, flatBlock } from './testing/jpeg-writer';
import { simplePng } from './testing/png-writer';
import { writeTar } from './testing/tar-writer';
import { gzipSync } from 'node:zlib';

const gray = (value: number, side = 2) => simplePng(side, side, 1, new Array(side * side).fill(value));
const red = simplePng(1, 1, 3, [255, 0, 0]);

async function failure(zip: Uint8Array, opts: ImageFolderOptions): Promise<CoreError> {
  const error = await readImageFolderArchive(bufferSource(zip), opts).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof CoreError)) throw new Error(`expected a CoreError, got ${String(error)}`);
  return error;
}

describe('readImageFolderArchive', () => {
  it('reads class folders inside one top folder, skipping hidden and __MACOSX files', async () => {
    const zip = writeZip(
      [
        ['pets/dog/b.png', gray(200)],
        ['pets/cat/z.png', gray(10)],
        ['pets/dog/a.png', gray(100, 4)],
        ['pets/cat/.DS_Store', new Uint8Array(3)],
        ['__MACOSX/pets/cat/._z.png', new Uint8Array(3)],
      ],
      { deflate: true },
    );
    const dataset = await readImageFolderArchive(bufferSource(zip), { height: 2, width: 2 });
    expect(dataset.shape).toEqual([3, 1, 2, 2]);
    expect(dataset.classNames).toEqual(['cat', 'dog']);
    expect(dataset.classCount).toBe(2);
    // Ordered by class, then by file name: cat/z, dog/a (resized from 4×4), dog/b.
    expect(Array.from(dataset.labels)).toEqual([0, 1, 1]);
    expect(Array.from(dataset.inputs)).toEqual([10, 10, 10, 10, 100, 100, 100, 100, 200, 200, 200, 200]);
  });

  it('decodes JPEG next to PNG', async () => {
    const jpeg = encodeJpeg({ width: 8, height: 8, components: [{ id: 1, h: 1, v: 1, blocks: [flatBlock(90)] }] });
    const zip = writeZip([
      ['b/x.jpeg', jpeg],
      ['a/y.png', gray(30)],
    ]);
    const dataset = await readImageFolderArchive(bufferSource(zip), { height: 2, width: 2 });
    expect(Array.from(dataset.labels)).toEqual([0, 1]);
    expect(Array.from(dataset.inputs)).toEqual([30, 30, 30, 30, 90, 90, 90, 90]);
  });

  it('reads tar and .tar.gz archives, with pax long names', async () => {
    const longClass = 'c'.repeat(120);
    const tar = writeTar([
      ['top/b/1.png', gray(7)],
      [`top/${longClass}/2.png`, gray(8)],
    ]);
    for (const archive of [tar, gzipSync(tar)]) {
      const dataset = await readImageFolderArchive(bufferSource(archive), { height: 1, width: 1 });
      expect(dataset.classNames).toEqual(['b', longClass]);
      expect(Array.from(dataset.inputs)).toEqual([7, 8]);
    }
  });

  it('refuses a corrupt tar and stops inflating a .tar.gz at its limit', async () => {
    const tar = writeTar([['a/1.png', gray(7)]]);
    const bad = Uint8Array.from(tar);
    bad[5] ^= 1; // the header checksum no longer matches
    expect((await failure(bad, { height: 1, width: 1 })).code).toBe('DATASET_ARCHIVE_INVALID');
    expect((await failure(tar.subarray(0, 540), { height: 1, width: 1 })).code).toBe('DATASET_ARCHIVE_INVALID');
    const bomb = gzipSync(new Uint8Array(4 << 20));
    const error = await failure(bomb, { height: 1, width: 1, maxUnzippedBytes: 1 << 20 });
    expect(error.code).toBe('DATASET_ARCHIVE_INVALID');
    expect(error.message).toContain('inflates past');
    expect((await failure(gzipSync(tar).subarray(0, 40), { height: 1, width: 1 })).code).toBe('DATASET_ARCHIVE_INVALID');
  });

  it('converts every image to the requested channels', async () => {
    const zip = writeZip([
      ['a/1.png', gray(50, 1)],
      ['b/1.png', red],
    ]);
    const rgb = await readImageFolderArchive(bufferSource(zip), { height: 1, width: 1, channels: 3 });
    expect(rgb.shape).toEqual([2, 3, 1, 1]);
    expect(Array.from(rgb.inputs)).toEqual([50, 50, 50, 255, 0, 0]);
    // Without `channels`, the first image (gray) decides.
    const first = await readImageFolderArchive(bufferSource(zip), { height: 1, width: 1 });
    expect(Array.from(first.inputs)).toEqual([50, 76]);
  });

  it('refuses archives that are not image folders', async () => {
    expect((await failure(new Uint8Array(100), { height: 2, width: 2 })).code).toBe('DATASET_ARCHIVE_INVALID');
    expect((await failure(writeZip([['loose.png', gray(1)]]), { height: 2, width: 2 })).code).toBe('DATASET_ARCHIVE_INVALID');
    expect((await failure(writeZip([['a/readme.txt', new Uint8Array(4)]]), { height: 2, width: 2 })).code).toBe('DATASET_ARCHIVE_INVALID');
    expect((await failure(writeZip([['a/.hidden', new Uint8Array(4)]]), { height: 2, width: 2 })).code).toBe('DATASET_EMPTY');
    expect((await failure(writeZip([['a/x.jpg', new Uint8Array(4)]]), { height: 2, width: 2 })).code).toBe('DATASET_IMAGE_INVALID');
    const progressive = encodeJpeg({ width: 8, height: 8, components: [{ id: 1, h: 1, v: 1, blocks: [flatBlock(9)] }], sof: 0xc2 });
    expect((await failure(writeZip([['a/x.JPG', progressive]]), { height: 2, width: 2 })).code).toBe('UNSUPPORTED_FORMAT');
    expect((await failure(writeZip([['a/x.png', gray(1).subarray(0, 30)]]), { height: 2, width: 2 })).code).toBe('DATASET_IMAGE_INVALID');
  });

  it('refuses an archive entry whose deflated data is corrupt', async () => {
    const zip = writeZip([['a/x.png', gray(1)]], { deflate: true });
    // Corrupt the deflated data in place (local header 30 bytes + name 7 + extra 3).
    const broken = Uint8Array.from(zip);
    broken.fill(0xff, 40, 52);
    const error = await failure(broken, { height: 2, width: 2 });
    expect(error.code).toBe('DATASET_ARCHIVE_INVALID');
    expect(error.message).toContain('a/x.png');
  });

  it('applies its limits before decoding', async () => {
    const zip = writeZip([
      ['a/1.png', gray(1)],
      ['a/2.png', gray(2)],
      ['b/3.png', gray(3, 8)],
    ]);
    expect((await failure(zip, { height: 2, width: 2, maxImages: 2 })).code).toBe('DATASET_TOO_LARGE');
    expect((await failure(zip, { height: 2, width: 2, maxFileBytes: 60 })).code).toBe('DATASET_TOO_LARGE');
    expect((await failure(zip, { height: 2, width: 2, maxPixels: 16 })).code).toBe('DATASET_IMAGE_INVALID');
    expect((await failure(zip, { height: 100, width: 100, maxInputBytes: 29_999 })).code).toBe('DATASET_TOO_LARGE');
    expect((await failure(zip, { height: 0, width: 2 })).code).toBe('INVALID_ARGUMENT');
    expect((await failure(zip, { height: 2, width: 5000 })).code).toBe('INVALID_ARGUMENT');
    expect((await failure(zip, { height: 2, width: 2, channels: 2 as 1 })).code).toBe('INVALID_ARGUMENT');
  });
});
