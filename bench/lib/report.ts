import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { projectRoot } from '../../src/core/io/project-root';

/** The value of `--name VALUE` (or `--name=VALUE`), else the fallback. */
export function stringOption(argv: readonly string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < argv.length) return argv[i + 1];
  const inline = argv.find((a) => a.startsWith(`--${name}=`));
  return inline ? inline.slice(name.length + 3) : fallback;
}

function packageVersion(name: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(projectRoot(), 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

function gitCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: projectRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${commit}+changes` : commit;
  } catch {
    return null;
  }
}

/** Where and with what a bench ran: the machine, its load, the date and the versions that set the figures. */
export interface BenchEnvironment {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; loadAverage1m: number };
  versions: Record<string, string | null>;
}

export function benchEnvironment(): BenchEnvironment {
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      loadAverage1m: Math.round(loadavg()[0] * 100) / 100,
    },
    versions: {
      weightsmith: gitCommit(),
      node: process.version,
      '@tensorflow/tfjs-core': packageVersion('@tensorflow/tfjs-core'),
      'onnxruntime-node': packageVersion('onnxruntime-node'),
      '@electric-sql/pglite': packageVersion('@electric-sql/pglite'),
      '@aws-sdk/client-s3': packageVersion('@aws-sdk/client-s3'),
    },
  };
}

/**
 * Prints the report as one JSON object on stdout, with `environment` first; with `--out FILE`
 * (relative to the working directory) also writes it there, so a figure quoted in the README
 * traces to a committed file under bench/results/.
 */
export async function emitReport(report: { bench: string } & Record<string, unknown>, argv: readonly string[] = process.argv): Promise<void> {
  const { bench, ...rest } = report;
  const full = { bench, environment: benchEnvironment(), ...rest };
  const text = `${JSON.stringify(full, null, 2)}\n`;
  process.stdout.write(text);
  const out = stringOption(argv, 'out', '');
  if (out) {
    const path = resolve(out);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    process.stderr.write(`wrote ${path}\n`);
  }
}
