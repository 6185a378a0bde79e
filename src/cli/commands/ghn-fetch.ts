import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  downloadHubFile,
  lookupHubFile,
  OFFICIAL_GHN_REPO,
  OFFICIAL_GHN_REVISION,
  officialGhnFile,
  type HubRepo,
  type OfficialGhnName,
} from '../../core/ghn-hub';
import { ConfigError, loadConfig } from '../../infra/config/app-config';
import { UsageError } from '../cli-io';

export interface GhnFetchOptions {
  out?: string;
  server?: string;
  apiKey?: string;
  hub?: string;
}

export interface GhnFetchSummary {
  name: string;
  file: string;
  url: string;
  sizeBytes: number;
  sha256: string;
  /** Where the checkpoint was written; null when it was only uploaded. */
  out: string | null;
  /** The server's record of the uploaded GHN (with --server). */
  ghn?: Record<string, unknown>;
}

/**
 * `weightsmith ghn fetch NAME`: downloads an official checkpoint from its public home, checks it
 * against the sha256 and size the hub publishes, then writes it to --out (default ./<name>.pt,
 * renamed into place only once verified) and/or uploads it to a server. A failure leaves no file.
 */
export async function ghnFetch(
  name: OfficialGhnName,
  options: GhnFetchOptions,
  resolvePath: (p: string) => string,
  env: Record<string, string | undefined> = process.env,
): Promise<GhnFetchSummary> {
  if (options.apiKey !== undefined && options.server === undefined) throw new UsageError('--api-key is only used with --server');
  const server = options.server === undefined ? null : httpUrl('--server', options.server);
  const repo: HubRepo = { hubUrl: options.hub !== undefined ? httpUrl('--hub', options.hub) : hubFromConfig(env), repo: OFFICIAL_GHN_REPO, revision: OFFICIAL_GHN_REVISION };
  const file = officialGhnFile(name);
  const out = options.out !== undefined ? resolvePath(options.out) : server === null ? resolvePath(file) : null;
  // Beside the output so the final rename is atomic; in the temp folder when only uploading.
  const partial = out ? join(dirname(out), `.${basename(out)}.part-${randomBytes(6).toString('hex')}`) : join(tmpdir(), `weightsmith-${randomBytes(6).toString('hex')}-${file}`);

  const published = await lookupHubFile(repo, file);
  const progress = progressLine(file);
  let downloaded;
  try {
    downloaded = await downloadHubFile(repo, published, partial, { onProgress: progress.update });
  } finally {
    progress.clear();
  }
  try {
    const ghn = server === null ? undefined : await upload(server, options.apiKey, name, file, partial, downloaded.sha256);
    if (out) await rename(partial, out);
    return { name, file, url: downloaded.url, sizeBytes: downloaded.sizeBytes, sha256: downloaded.sha256, out, ...(ghn ? { ghn } : {}) };
  } finally {
    await unlink(partial).catch(() => undefined);
  }
}

function httpUrl(flag: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${flag} must be an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag} must be an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  return raw.replace(/\/+$/, '');
}

function hubFromConfig(env: Record<string, string | undefined>): string {
  try {
    return loadConfig(env).ghn.hubUrl;
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`invalid configuration: ${e.problems.join('; ')}`);
    throw e;
  }
}

/** POST <server>/v1/ghns, streaming the file; the server must record the bytes we verified. */
async function upload(server: string, apiKey: string | undefined, name: string, file: string, path: string, sha256: string): Promise<Record<string, unknown>> {
  const url = `${server}/v1/ghns`;
  const form = new FormData();
  form.set('name', name);
  form.set('file', await openAsBlob(path), file);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: form, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
  } catch (e) {
    const cause = (e as { cause?: { message?: unknown } }).cause?.message;
    throw new Error(`cannot reach the server at ${url}: ${typeof cause === 'string' ? cause : String(e)}`);
  }
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const detail = typeof body?.detail === 'string' ? body.detail : text.slice(0, 200);
    throw new Error(`the server refused the upload: HTTP ${res.status}${typeof body?.code === 'string' ? ` ${body.code}` : ''}: ${detail}`);
  }
  if (!body || body.sourceSha256 !== sha256) {
    throw new Error(`the server recorded sha256 ${String(body?.sourceSha256)} for the upload, but the verified download has ${sha256}`);
  }
  return body;
}

/** A progress line rewritten in place on an interactive stderr; silent otherwise (logs, pipes). */
function progressLine(label: string): { update: (received: number, total: number) => void; clear: () => void } {
  const stderr = process.stderr;
  if (!stderr.isTTY) return { update: () => undefined, clear: () => undefined };
  let shown = 0;
  let written = false;
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  return {
    update: (received, total) => {
      const now = Date.now();
      if (received < total && now - shown < 100) return;
      shown = now;
      written = true;
      stderr.write(`\r${label}: ${mb(received)} / ${mb(total)} MB (${total ? Math.floor((100 * received) / total) : 100}%)`);
    },
    clear: () => {
      if (written) stderr.write('\r\x1b[2K');
    },
  };
}
