import { UsageError } from '../cli-io';

export interface DatasetImportOptions {
  server: string;
  apiKey?: string;
  seed?: number;
  name?: string;
}

function serverUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--server must be an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server must be an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  return raw.replace(/\/+$/, '');
}

/**
 * `weightsmith dataset import fashion-mnist|mnist --server URL`: asks the server to store a
 * builtin dataset (POST /v1/datasets; the server reads the images from its own npm packages) and
 * returns the stored dataset as the server describes it.
 */
export async function importBuiltinDataset(builtin: string, options: DatasetImportOptions, fetchImpl: typeof fetch = fetch): Promise<Record<string, unknown>> {
  const url = `${serverUrl(options.server)}/v1/datasets`;
  const body = { builtin, ...(options.name !== undefined ? { name: options.name } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}) };
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
    });
  } catch (e) {
    const cause = (e as { cause?: { message?: unknown } }).cause?.message;
    throw new Error(`cannot reach the server at ${url}: ${typeof cause === 'string' ? cause : String(e)}`);
  }
  const text = await res.text();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  if (!res.ok || !parsed) {
    const detail = typeof parsed?.detail === 'string' ? parsed.detail : text.slice(0, 200);
    throw new Error(`the server refused the import: HTTP ${res.status}${typeof parsed?.code === 'string' ? ` ${parsed.code}` : ''}: ${detail}`);
  }
  return parsed;
}
