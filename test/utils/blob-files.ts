import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3Client } from './swift-s3';
import { s3PrefixOf, testS3 } from './test-app';

async function walk(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/**
 * Blobs stored under real (sha256) names by the server of a data directory: files under
 * `blobs/sha256`, or with the S3 store of this pass, object keys under the server's prefix (each
 * ends with the sha256, like the file paths). Incomplete multipart uploads count too (as
 * `upload:<key>`): a crash must leave neither.
 */
export async function storedBlobFiles(dataDir: string): Promise<string[]> {
  const s3 = testS3();
  if (!s3) return walk(join(dataDir, 'blobs', 'sha256'));
  const client = s3Client(s3.endpoint);
  const prefix = `${s3PrefixOf(dataDir)}sha256/`;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: prefix }));
  return [...keys, ...(uploads.Uploads ?? []).map((u) => `upload:${u.Key}`)];
}

/** Staged files of the server's blob store (a local folder for both stores). */
export function temporaryBlobFiles(dataDir: string): Promise<string[]> {
  return walk(join(dataDir, 'blobs', 'tmp'));
}

/** Removes the stored bytes of `sha256` behind the server's back (a file, or the S3 object), as a lost blob would. */
export async function removeStoredBlob(dataDir: string, sha256: string): Promise<void> {
  const stored = (await storedBlobFiles(dataDir)).find((f) => f.endsWith(sha256) && !f.startsWith('upload:'));
  if (!stored) throw new Error(`no stored blob ${sha256}`);
  const s3 = testS3();
  if (s3) await s3Client(s3.endpoint).send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: stored }));
  else await unlink(stored);
}
