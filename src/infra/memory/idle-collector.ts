import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8's full garbage collection, or null where the runtime refuses it. V8 collects when its own heap
 * grows, not when large buffers die: after a deployment, an export or an upload the server would
 * otherwise keep the dead weight buffers (tens of MB each) until the JS heap happens to fill.
 */
export function fullGarbageCollection(): (() => void) | null {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/**
 * Collects once the server has gone quiet after some work: no request in flight and none finished
 * for `idleMs`. One collection per quiet spell, and none while traffic flows, so it never adds a
 * pause to a busy server.
 */
export class IdleCollector {
  private inFlight = 0;
  private lastFinished = 0;
  private pending = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly collect: () => void,
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  started(): void {
    this.inFlight++;
  }

  finished(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.lastFinished = this.now();
    this.pending = true;
  }

  /** Collects if the server is quiet and has worked since the last collection; says whether it did. */
  tick(): boolean {
    if (!this.pending || this.inFlight > 0 || this.now() - this.lastFinished < this.idleMs) return false;
    this.pending = false;
    this.collect();
    return true;
  }

  /** Checks every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Express-style middleware counting requests in flight, but those whose path `ignore` accepts. */
  middleware(ignore: (path: string) => boolean = () => false): (req: { path: string }, res: { once(event: 'finish' | 'close', fn: () => void): unknown }, next: () => void) => void {
    return (req, res, next) => {
      if (ignore(req.path)) {
        next();
        return;
      }
      this.started();
      let done = false;
      const end = (): void => {
        if (done) return;
        done = true;
        this.finished();
      };
      res.once('finish', end);
      res.once('close', end);
      next();
    };
  }
}
