import { request } from 'node:http';
import { ADMIN_KEY } from './test-app';

/** Header of a safetensors file holding one F32 tensor `w` of `elements` zeros. */
export function zerosHeader(elements: number): Buffer {
  let json = JSON.stringify({ w: { dtype: 'F32', shape: [elements], data_offsets: [0, elements * 4] } });
  while ((json.length + 8) % 8 !== 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json)]);
}

export interface StreamingUpload {
  /** Bytes written to the socket so far. */
  sent(): number;
  /** Resolves with status and body once the server answers (rejects if the connection dies). */
  done: Promise<{ status: number; body: string }>;
}

/**
 * Streams a multipart upload of a large all-zero F32 checkpoint without holding it in memory.
 * `pauseAfter` stops sending after that many file bytes (the request then hangs until aborted).
 */
export function streamZerosCheckpoint(url: string, elements: number, opts: { name?: string; pauseAfter?: number } = {}): StreamingUpload {
  const boundary = '----weightsmith' + Date.now();
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${opts.name ?? 'zeros'}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="zeros.safetensors"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const header = zerosHeader(elements);
  const dataBytes = elements * 4;
  const total = head.length + header.length + dataBytes + tail.length;
  let sent = 0;
  const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      `${url}/v1/checkpoints`,
      { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': total } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(1024 * 1024);
    let fileSent = 0;
    const write = (buf: Buffer): boolean => {
      sent += buf.length;
      return req.write(buf);
    };
    write(head);
    write(header);
    const pump = () => {
      while (fileSent < dataBytes) {
        if (opts.pauseAfter !== undefined && fileSent >= opts.pauseAfter) return; // hang here
        const n = Math.min(chunk.length, dataBytes - fileSent);
        fileSent += n;
        if (!write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      write(tail);
      req.end();
    };
    pump();
  });
  return { sent: () => sent, done };
}
