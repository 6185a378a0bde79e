import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** A file the test hub serves. */
export interface TestHubFile {
  /** Path in the repository, e.g. `ghn3tm8.pt`. */
  path: string;
  /** Local file whose bytes are served. */
  source: string;
  /** sha256 the listing publishes (default: the real one); a wrong one tests refusals. */
  publishedSha256?: string;
  /** Size the listing publishes (default: the real one). */
  publishedSize?: number;
}

export interface TestHubOptions {
  repo: string;
  revision?: string;
  /** Listing entries per page, linked with `Link: <...>; rel="next"` as the real hub does. */
  pageSize?: number;
  /** Send this many bytes of a download, then nothing more (the connection stays open). */
  stallAfterBytes?: number;
}

export interface TestHub {
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

interface Served extends TestHubFile {
  sha256: string;
  size: number;
}

const sha = (algorithm: string, data: string | Buffer): string => createHash(algorithm).update(data).digest('hex');

/**
 * A loopback stand-in for the Hugging Face Hub with its URL layout: the tree listing
 * (`/api/models/<repo>/tree/<rev>`, LFS entries with `lfs.oid` = sha256, a folder and a non-LFS
 * file beside them) and `/<repo>/resolve/<rev>/<path>`, which redirects to a "CDN" path as the real
 * hub does. Tests never reach the internet.
 */
export async function startTestHub(files: TestHubFile[], options: TestHubOptions): Promise<TestHub> {
  const revision = options.revision ?? 'main';
  const served: Served[] = [];
  for (const f of files) served.push({ ...f, sha256: sha('sha256', await readFile(f.source)), size: (await stat(f.source)).size });
  const listing = [
    { type: 'file', oid: sha('sha1', '.gitattributes'), size: 1519, path: '.gitattributes' },
    ...served.map((f) => ({
      type: 'file',
      oid: sha('sha1', f.path),
      size: f.publishedSize ?? f.size,
      path: f.path,
      lfs: { oid: f.publishedSha256 ?? f.sha256, size: f.publishedSize ?? f.size, pointerSize: 134 },
    })),
    { type: 'directory', oid: sha('sha1', 'other'), size: 0, path: 'other' },
  ];
  const requests: string[] = [];
  const treePath = `/api/models/${options.repo}/tree/${revision}`;
  const resolvePrefix = `/${options.repo}/resolve/${revision}/`;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://hub.local');
    requests.push(url.pathname);
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (url.pathname === treePath) {
      const pageSize = options.pageSize ?? listing.length;
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (start + pageSize < listing.length) headers.link = `<${treePath}?cursor=${start + pageSize}>; rel="next"`;
      return void res.writeHead(200, headers).end(JSON.stringify(listing.slice(start, start + pageSize)));
    }
    if (url.pathname.startsWith(resolvePrefix)) {
      const file = served.find((f) => f.path === decodeURIComponent(url.pathname.slice(resolvePrefix.length)));
      if (!file) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Entry not found"}');
      return void res.writeHead(302, { location: `/cdn/${file.sha256}?signature=test` }).end();
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = cdn && served.find((f) => f.sha256 === cdn[1]);
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.size) });
    if (options.stallAfterBytes === undefined) return void createReadStream(file.source).pipe(res);
    createReadStream(file.source, { end: options.stallAfterBytes - 1 }).on('data', (chunk) => res.write(chunk));
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
