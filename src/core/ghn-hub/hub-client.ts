import { createHash } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { CoreError, isCoreError } from '../errors';

/** A repository revision on a Hugging Face Hub, or on any server with the same URL layout. */
export interface HubRepo {
  /** e.g. `https://huggingface.co`; a path prefix is kept (`http://mirror.local/hf`). */
  hubUrl: string;
  /** `owner/name` */
  repo: string;
  revision: string;
}

/** A file as the hub lists it. LFS files carry the sha256 and size of their content. */
export interface HubFile {
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface DownloadOptions {
  onProgress?: (receivedBytes: number, totalBytes: number) => void;
  /** Give up when no byte arrives for this long (default 60 s). */
  stallTimeoutMs?: number;
}

export interface DownloadedFile extends HubFile {
  /** The file's download URL (before redirects). */
  url: string;
  /** Where the verified bytes are. */
  target: string;
}

const MAX_TREE_PAGES = 100;
const SHA256 = /^[0-9a-f]{64}$/;

function base(hubUrl: string): string {
  return hubUrl.replace(/\/+$/, '');
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** `GET <hub>/api/models/<repo>/tree/<revision>[/<dir>]`: the files of one folder (paginated by Link headers). */
export function hubTreeUrl(r: HubRepo, dir = ''): string {
  return `${base(r.hubUrl)}/api/models/${r.repo}/tree/${encodeURIComponent(r.revision)}${dir ? `/${encodePath(dir)}` : ''}`;
}

/** `GET <hub>/<repo>/resolve/<revision>/<path>`: the file's bytes (usually a redirect to a CDN). */
export function hubResolveUrl(r: HubRepo, path: string): string {
  return `${base(r.hubUrl)}/${r.repo}/resolve/${encodeURIComponent(r.revision)}/${encodePath(path)}`;
}

/**
 * Looks a file up in the hub's listing of its folder to learn the sha256 and size the hub
 * publishes for it. Only LFS files have a published sha256 (a git blob id is a sha1 of another
 * text); anything else is refused, since it could not be verified.
 */
export async function lookupHubFile(r: HubRepo, path: string): Promise<HubFile> {
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  let url: string | null = hubTreeUrl(r, dir);
  for (let page = 0; url !== null && page < MAX_TREE_PAGES; page++) {
    const res = await get(url, 'list');
    let entries: unknown;
    try {
      entries = await res.json();
    } catch (e) {
      throw new CoreError('DOWNLOAD_FAILED', `the listing at ${url} is not JSON: ${reason(e)}`);
    }
    if (!Array.isArray(entries)) throw new CoreError('DOWNLOAD_FAILED', `the listing at ${url} is not a JSON array of files`);
    const entry = entries.find((e: unknown) => typeof e === 'object' && e !== null && (e as { path?: unknown }).path === path);
    if (entry) return publishedFile(entry as Record<string, unknown>, path, r);
    url = nextPage(res.headers.get('link'), url);
  }
  throw new CoreError('DOWNLOAD_FAILED', `${r.repo}@${r.revision} on ${r.hubUrl} has no file ${path}`, { repo: r.repo, path });
}

function publishedFile(entry: Record<string, unknown>, path: string, r: HubRepo): HubFile {
  if (entry.type !== undefined && entry.type !== 'file') throw new CoreError('DOWNLOAD_FAILED', `${path} in ${r.repo} is a ${String(entry.type)}, not a file`);
  const lfs = entry.lfs as { oid?: unknown; size?: unknown } | null | undefined;
  const sha256 = typeof lfs?.oid === 'string' ? lfs.oid.replace(/^sha256:/, '').toLowerCase() : '';
  const size = lfs?.size ?? entry.size;
  if (!SHA256.test(sha256) || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new CoreError('DOWNLOAD_FAILED', `${r.hubUrl} publishes no sha256 for ${r.repo}/${path} (not an LFS file), so it cannot be verified`, { path });
  }
  return { path, sizeBytes: size, sha256 };
}

/** The `rel="next"` target of a Link header, resolved against the current page. */
function nextPage(link: string | null, current: string): string | null {
  const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  return m ? new URL(m[1], current).toString() : null;
}

/**
 * Streams a file from the hub to `target` (created; it must not exist), hashing as it goes, and
 * checks the bytes against the published sha256 and size. Any failure removes `target`, so only
 * verified bytes are ever left there; the caller renames them into place.
 */
export async function downloadHubFile(r: HubRepo, file: HubFile, target: string, options: DownloadOptions = {}): Promise<DownloadedFile> {
  const url = hubResolveUrl(r, file.path);
  const stallMs = options.stallTimeoutMs ?? 60_000;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), stallMs);
  };
  const handle = await open(target, 'wx');
  let verified = false;
  let received = 0;
  try {
    arm();
    const res = await get(url, 'download', controller.signal);
    if (!res.body) throw new CoreError('DOWNLOAD_FAILED', `${url} answered without a body`);
    const hash = createHash('sha256');
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        arm();
        received += chunk.length;
        if (received > file.sizeBytes) {
          controller.abort();
          throw new CoreError('CHECKSUM_MISMATCH', `${file.path}: the hub sent more than the ${file.sizeBytes} bytes it publishes (sha256 ${file.sha256}); nothing was kept`, {
            published: file.sha256,
            publishedBytes: file.sizeBytes,
          });
        }
        hash.update(chunk);
        await handle.write(chunk);
        options.onProgress?.(received, file.sizeBytes);
      }
    } catch (e) {
      if (isCoreError(e)) throw e;
      const why = controller.signal.aborted ? `no data for ${stallMs / 1000} s` : reason(e);
      throw new CoreError('DOWNLOAD_FAILED', `the download of ${url} failed after ${received} bytes: ${why}`);
    }
    const sha256 = hash.digest('hex');
    if (sha256 !== file.sha256 || received !== file.sizeBytes) {
      throw new CoreError(
        'CHECKSUM_MISMATCH',
        `${file.path}: sha256 mismatch: the hub publishes ${file.sha256} (${file.sizeBytes} bytes), the download has ${sha256} (${received} bytes); nothing was kept`,
        { published: file.sha256, downloaded: sha256, publishedBytes: file.sizeBytes, downloadedBytes: received },
      );
    }
    await handle.sync();
    verified = true;
    return { ...file, url, target };
  } finally {
    clearTimeout(timer);
    await handle.close().catch(() => undefined);
    if (!verified) await unlink(target).catch(() => undefined);
  }
}

async function get(url: string, what: 'list' | 'download', signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { 'user-agent': 'weightsmith' }, redirect: 'follow', signal });
  } catch (e) {
    throw new CoreError('DOWNLOAD_FAILED', `cannot ${what} ${url}: ${signal?.aborted ? 'no answer in time' : reason(e)}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new CoreError('DOWNLOAD_FAILED', `cannot ${what} ${url}: HTTP ${res.status}`, { status: res.status });
  }
  return res;
}

/**
 * fetch() reports network failures as `TypeError: fetch failed` with the real reason as its cause.
 * Duck-typed: errors from fetch may come from another realm (instanceof Error is false there).
 */
function reason(e: unknown): string {
  const err = (typeof e === 'object' && e !== null ? e : {}) as { message?: unknown; cause?: { message?: unknown } };
  if (typeof err.cause?.message === 'string') return err.cause.message;
  return typeof err.message === 'string' ? err.message : String(e);
}
