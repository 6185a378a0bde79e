import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { crc32, createDeflateRaw } from 'node:zlib';
import { contiguousStride, STORAGE_TYPES, storageId, tensorValue } from '../../src/core/formats/torch/testing/checkpoint-writers';
import { orderedDict, persistent, writePickle, type PickleValue } from '../../src/core/formats/torch/testing/pickle-writer';
import { patternChunks, type GeneratedTensor } from './generated-data';

/**
 * Streams a zip-format torch.save of float32 tensors (an OrderedDict state_dict, as
 * `torch.save(model.state_dict())` writes) to disk: stored entries (or deflated ones, as a re-zipped
 * checkpoint has), each written chunk by chunk and its CRC-32 and sizes patched into the local
 * header afterwards, so no tensor is ever held whole. Without zip64 records: the file must stay
 * under 4 GiB.
 */
export async function writeTorchZipFile(path: string, tensors: readonly GeneratedTensor[], opts: { deflate?: boolean } = {}): Promise<number> {
  const entries: Record<string, PickleValue> = {};
  tensors.forEach((t, i) => {
    const ref = persistent(storageId({ key: String(i), type: STORAGE_TYPES.F32, numel: t.byteLength / 4 }, 'zip'));
    entries[t.name] = tensorValue(ref, 0, t.shape, contiguousStride(t.shape));
  });
  const handle = await open(path, 'w');
  const writer = new ZipStreamWriter(handle, opts.deflate === true);
  try {
    await writer.add('archive/data.pkl', [Buffer.from(writePickle(orderedDict(entries)))]);
    await writer.add('archive/byteorder', [Buffer.from('little')]);
    for (const [i, t] of tensors.entries()) await writer.add(`archive/data/${i}`, patternChunks(t.seed, t.byteLength), t.byteLength);
    await writer.add('archive/version', [Buffer.from('3\n')]);
    return await writer.finish();
  } finally {
    await handle.close();
  }
}

interface CentralRecord {
  name: Buffer;
  crc: number;
  size: number;
  compressedSize: number;
  offset: number;
}

const LIMIT_32 = 0xffffffff;

class ZipStreamWriter {
  private position = 0;
  private readonly records: CentralRecord[] = [];

  constructor(
    private readonly handle: FileHandle,
    private readonly deflate: boolean,
  ) {}

  private async write(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length; ) done += (await this.handle.write(bytes, done, bytes.length - done, this.position + done)).bytesWritten;
    this.position += bytes.length;
  }

  /** One stored entry; `size` must be given when the chunks are not a fully materialised list. */
  async add(name: string, chunks: Iterable<Uint8Array>, size?: number): Promise<void> {
    const list = size === undefined ? [...chunks] : null;
    const byteLength = size ?? list!.reduce((n, c) => n + c.length, 0);
    if (this.position + byteLength > LIMIT_32) throw new Error('this writer does not write zip64 archives: keep the file under 4 GiB');
    const nameBytes = Buffer.from(name);
    const offset = this.position;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(byteLength, 18);
    local.writeUInt32LE(byteLength, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    await this.write(local);
    await this.write(nameBytes);
    let crc = 0;
    const dataStart = this.position;
    if (this.deflate) {
      const input = Readable.from(
        (function* () {
          for (const chunk of list ?? chunks) {
            crc = crc32(chunk, crc);
            yield chunk;
          }
        })(),
      );
      for await (const compressed of input.pipe(createDeflateRaw({ level: 1 }))) await this.write(compressed as Buffer);
    } else {
      for (const chunk of list ?? chunks) {
        crc = crc32(chunk, crc);
        await this.write(chunk);
      }
    }
    const compressedSize = this.position - dataStart;
    if (this.position > LIMIT_32) throw new Error('this writer does not write zip64 archives: keep the file under 4 GiB');
    // Method, CRC-32 and compressed size, now known.
    const patch = Buffer.alloc(8);
    patch.writeUInt32LE(crc >>> 0, 0);
    patch.writeUInt32LE(compressedSize, 4);
    await this.handle.write(patch, 0, 8, offset + 14);
    if (this.deflate) await this.handle.write(Buffer.from([8, 0]), 0, 2, offset + 8);
    this.records.push({ name: nameBytes, crc, size: byteLength, compressedSize, offset });
  }

  /** Writes the central directory and end record; returns the file size. */
  async finish(): Promise<number> {
    const directoryOffset = this.position;
    for (const r of this.records) {
      const central = Buffer.alloc(46);
      central.writeUInt32LE(0x02014b50, 0);
      central.writeUInt16LE(20, 4);
      central.writeUInt16LE(20, 6);
      central.writeUInt16LE(this.deflate ? 8 : 0, 10);
      central.writeUInt32LE(r.crc >>> 0, 16);
      central.writeUInt32LE(r.compressedSize, 20);
      central.writeUInt32LE(r.size, 24);
      central.writeUInt16LE(r.name.length, 28);
      central.writeUInt32LE(r.offset, 42);
      await this.write(central);
      await this.write(r.name);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.records.length, 8);
    end.writeUInt16LE(this.records.length, 10);
    end.writeUInt32LE(this.position - directoryOffset, 12);
    end.writeUInt32LE(directoryOffset, 16);
    await this.write(end);
    return this.position;
  }
}
