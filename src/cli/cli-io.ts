import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { isCoreError } from '../core/errors';

/** File arguments are relative to the caller's working directory, not to the package. */
export function resolveArg(path: string, cwd = process.cwd()): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/**
 * Writes a file under a temporary name, fsyncs and renames it, so a failed or interrupted write
 * never leaves a partial file under the real name.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tempPath = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(tempPath, 'wx');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    await rename(tempPath, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
}

/** A usage or configuration error: the CLI prints it on one line and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Prints a JSON document on stdout: the only thing commands print there. */
export function printJson(value: unknown, pretty = false): void {
  process.stdout.write(`${JSON.stringify(value, null, pretty ? 2 : undefined)}\n`);
}

/** The one stderr line of a failed command: `weightsmith: CODE: message` for core errors. */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const oneLine = message.replace(/\s*\n\s*/g, '; ').trim();
  return isCoreError(error) ? `weightsmith: ${error.code}: ${oneLine}` : `weightsmith: ${oneLine}`;
}
