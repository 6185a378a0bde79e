import { readFileSync, writeFileSync } from 'node:fs';

export const MB = 1e6;

/** VmRSS / VmHWM of a live process from /proc (Linux); null once it is gone. */
export function readProcMemory(pid: number): { rssBytes: number; hwmBytes: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const rssBytes = kib('VmRSS');
  const hwmBytes = kib('VmHWM');
  return Number.isFinite(rssBytes) ? { rssBytes, hwmBytes } : null;
}

/**
 * Resets the process's VmHWM to its current RSS (Linux: `5` into /proc/PID/clear_refs; needs
 * permission over the process), so a later VmHWM covers only what follows. False if not allowed.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface RssSampler {
  /** Stops sampling; returns the largest VmRSS seen and the sample count. */
  stop(): { peakSampledBytes: number; samples: number };
}

/** Samples a process's VmRSS every `intervalMs` (100 ms by default). */
export function sampleRss(pid: number, intervalMs = 100): RssSampler {
  let peak = 0;
  let samples = 0;
  const take = (): void => {
    const m = readProcMemory(pid);
    if (m) {
      peak = Math.max(peak, m.rssBytes);
      samples++;
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakSampledBytes: peak, samples };
    },
  };
}

export const toMB = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;
export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Parses `--name value` options (numbers) from argv. */
export function numberOption(argv: readonly string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number, got ${argv[at + 1]}`);
  return value;
}
