import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

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

/** Files stored under real (sha256) names in a data directory's blob store. */
export function storedBlobFiles(dataDir: string): Promise<string[]> {
  return walk(join(dataDir, 'blobs', 'sha256'));
}

/** Temporary files in the blob store. */
export function temporaryBlobFiles(dataDir: string): Promise<string[]> {
  return walk(join(dataDir, 'blobs', 'tmp'));
}
