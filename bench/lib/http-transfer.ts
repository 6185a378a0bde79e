import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';

export interface MultipartFile {
  field: string;
  filename: string;
  size: number;
  chunks: Iterable<Buffer>;
}

export interface UploadResult {
  status: number;
  body: string;
  seconds: number;
}

/**
 * POSTs a multipart/form-data body (text fields, then one file) with a Content-Length, writing
 * the file chunk by chunk under backpressure: the body is never held in memory.
 */
export function postMultipart(url: string, fields: Record<string, string>, file: MultipartFile): Promise<UploadResult> {
  const boundary = `----weightsmith-bench-${randomBytes(8).toString('hex')}`;
  let head = '';
  for (const [name, value] of Object.entries(fields)) head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  head += `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const headBytes = Buffer.from(head);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': headBytes.length + file.size + tail.length },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, seconds: secondsSince(started) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const iterator = file.chunks[Symbol.iterator]();
    const pump = (): void => {
      for (;;) {
        const next = iterator.next();
        if (next.done) {
          req.end(tail);
          return;
        }
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    req.write(headBytes);
    pump();
  });
}

export interface DownloadResult {
  status: number;
  bytes: number;
  sha256: string;
  seconds: number;
}

/** GETs a URL, hashing the body as it streams in. */
export function downloadSha256(url: string): Promise<DownloadResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        hash.update(d);
        bytes += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex'), seconds: secondsSince(started) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
