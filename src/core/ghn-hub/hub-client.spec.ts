import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCoreError, type CoreError } from '../errors';
import { downloadHubFile, hubResolveUrl, hubTreeUrl, lookupHubFile, type HubRepo } from './hub-client';
import { startTestHub, type TestHub } from './testing-hub-server';

const REPO = 'SamsungSAILMontreal/ghn3';

async function caught(promise: Promise<unknown>): Promise<CoreError> {
  try {
    await promise;
  } catch (e) {
    if (isCoreError(e)) return e;
    throw e;
  }
  throw new Error('expected a CoreError');
}

describe('Hugging Face Hub client', () => {
  let dir: string;
  let weights: Buffer;
  let sha256: string;
  let hub: TestHub;
  let repo: HubRepo;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weightsmith-hub-'));
    weights = randomBytes(300_000);
    sha256 = createHash('sha256').update(weights).digest('hex');
    await writeFile(join(dir, 'source.bin'), weights);
    // One listing entry per page: the file is found by following Link headers.
    hub = await startTestHub([{ path: 'ghn3tm8.pt', source: join(dir, 'source.bin') }], { repo: REPO, pageSize: 1 });
    repo = { hubUrl: `${hub.url}/`, repo: REPO, revision: 'main' };
  });

  afterAll(async () => {
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds the real hub URL layout', () => {
    const hf: HubRepo = { hubUrl: 'https://huggingface.co', repo: REPO, revision: 'main' };
    expect(hubTreeUrl(hf)).toBe('https://huggingface.co/api/models/SamsungSAILMontreal/ghn3/tree/main');
    expect(hubTreeUrl(hf, 'other')).toBe('https://huggingface.co/api/models/SamsungSAILMontreal/ghn3/tree/main/other');
    expect(hubResolveUrl(hf, 'ghn3xlm16.pt')).toBe('https://huggingface.co/SamsungSAILMontreal/ghn3/resolve/main/ghn3xlm16.pt');
  });

  it('reads the published sha256 and size from the listing, across pages', async () => {
    await expect(lookupHubFile(repo, 'ghn3tm8.pt')).resolves.toEqual({ path: 'ghn3tm8.pt', sizeBytes: weights.length, sha256 });
  });

  it('downloads through the redirect, verifies, and reports progress', async () => {
    const target = join(dir, 'ok.pt');
    const progress: number[] = [];
    const got = await downloadHubFile(repo, await lookupHubFile(repo, 'ghn3tm8.pt'), target, { onProgress: (n, total) => progress.push(n / total) });
    expect(got).toMatchObject({ sha256, sizeBytes: weights.length, target, url: `${hub.url}/${REPO}/resolve/main/ghn3tm8.pt` });
    expect((await readFile(target)).equals(weights)).toBe(true);
    expect(progress[progress.length - 1]).toBe(1);
    expect(hub.requests).toContain(`/cdn/${sha256}`);
  });

  it('refuses bytes that do not match the published sha256 and keeps nothing', async () => {
    const target = join(dir, 'bad.pt');
    const wrong = 'ab'.repeat(32);
    const e = await caught(downloadHubFile(repo, { path: 'ghn3tm8.pt', sizeBytes: weights.length, sha256: wrong }, target));
    expect(e.code).toBe('CHECKSUM_MISMATCH');
    expect(e.message).toContain(wrong);
    expect(e.message).toContain(sha256);
    expect(existsSync(target)).toBe(false);
  });

  it('stops reading past the published size', async () => {
    const target = join(dir, 'long.pt');
    const e = await caught(downloadHubFile(repo, { path: 'ghn3tm8.pt', sizeBytes: 1000, sha256 }, target));
    expect(e.code).toBe('CHECKSUM_MISMATCH');
    expect(e.message).toMatch(/more than the 1000 bytes/);
    expect(existsSync(target)).toBe(false);
  });

  it('reports a missing file, a non-LFS file, a folder and an unreachable hub as DOWNLOAD_FAILED', async () => {
    expect((await caught(lookupHubFile(repo, 'ghn9.pt'))).message).toMatch(/has no file ghn9\.pt/);
    expect((await caught(lookupHubFile(repo, '.gitattributes'))).message).toMatch(/publishes no sha256/);
    expect((await caught(lookupHubFile(repo, 'other'))).message).toMatch(/is a directory/);
    const target = join(dir, 'missing.pt');
    const missing = await caught(downloadHubFile(repo, { path: 'ghn9.pt', sizeBytes: 1, sha256 }, target));
    expect([missing.code, missing.message]).toEqual(['DOWNLOAD_FAILED', `cannot download ${hub.url}/${REPO}/resolve/main/ghn9.pt: HTTP 404`]);
    expect(existsSync(target)).toBe(false);
    const gone = await startTestHub([], { repo: REPO });
    await gone.close();
    const down = await caught(lookupHubFile({ ...repo, hubUrl: gone.url }, 'ghn3tm8.pt'));
    expect(down.code).toBe('DOWNLOAD_FAILED');
    expect(down.message).toMatch(/ECONNREFUSED/);
  });

  it('gives up on a download that stalls, leaving no file', async () => {
    const stalling = await startTestHub([{ path: 'ghn3tm8.pt', source: join(dir, 'source.bin') }], { repo: REPO, stallAfterBytes: 1000 });
    try {
      const r = { ...repo, hubUrl: stalling.url };
      const target = join(dir, 'stalled.pt');
      const e = await caught(downloadHubFile(r, await lookupHubFile(r, 'ghn3tm8.pt'), target, { stallTimeoutMs: 200 }));
      expect(e.code).toBe('DOWNLOAD_FAILED');
      expect(e.message).toMatch(/failed after 1000 bytes: no data for 0.2 s/);
      expect(existsSync(target)).toBe(false);
    } finally {
      await stalling.close();
    }
    expect((await readdir(dir)).sort()).toEqual(['ok.pt', 'source.bin']);
  });
});
