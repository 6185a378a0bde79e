import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';

/**
 * The benchmark's peer: a minimal plain-Node HTTP server that streams a multipart upload's file
 * part to disk with sha256 (skipping the part headers, holding back the closing boundary), then
 * serves the file back. No validation, no database: the floor the real server is measured against.
 * Usage: node peer-server.js PORT DIR
 */
const [portArg, dir] = process.argv.slice(2);

async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
  if (!boundary) {
    res.writeHead(400).end('multipart boundary missing');
    return;
  }
  const closing = Buffer.from(`\r\n--${boundary[1] ?? boundary[2]}--\r\n`).length;
  const id = randomUUID();
  const tempPath = join(dir, `${id}.tmp`);
  const handle = await open(tempPath, 'wx');
  const hash = createHash('sha256');
  let head: Buffer | null = Buffer.alloc(0);
  let held = Buffer.alloc(0);
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      let data = chunk;
      if (head !== null) {
        // Skip everything up to the end of the file part's headers.
        head = Buffer.concat([head, chunk]);
        const file = head.indexOf('filename="');
        const end = file < 0 ? -1 : head.indexOf('\r\n\r\n', file);
        if (end < 0) continue;
        data = head.subarray(end + 4);
        head = null;
      }
      // The last `closing` bytes may be the closing boundary: keep them back until the end.
      const all = held.length > 0 ? Buffer.concat([held, data]) : data;
      const keep = Math.min(closing, all.length);
      const body = all.subarray(0, all.length - keep);
      held = Buffer.from(all.subarray(all.length - keep));
      if (body.length > 0) {
        hash.update(body);
        size += body.length;
        await handle.write(body);
      }
    }
    await handle.sync();
    await handle.close();
    await rename(tempPath, join(dir, id));
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id, sha256: hash.digest('hex'), sizeBytes: size }));
}

async function send(id: string, res: ServerResponse): Promise<void> {
  const path = join(dir, id);
  const { size } = await stat(path);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
  createReadStream(path).pipe(res);
}

async function main(): Promise<void> {
  await mkdir(dir, { recursive: true });
  const server = createServer((req, res) => {
    const files = /^\/files\/([0-9a-f-]{36})$/.exec(req.url ?? '');
    const handled =
      req.method === 'POST' && req.url === '/files'
        ? receive(req, res)
        : req.method === 'GET' && files
          ? send(files[1], res)
          : Promise.resolve(void res.writeHead(req.url === '/health' ? 200 : 404).end());
    handled.catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  server.listen(Number(portArg), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

void main();
