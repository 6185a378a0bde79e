import type { LoggerService, LogLevel } from '@nestjs/common';
import { currentRequestId } from './request-context';
import { NEST_BOOT_CONTEXTS } from './startup-notice';

const LEVELS: Record<string, number> = { debug: 10, verbose: 10, log: 20, info: 20, warn: 30, error: 40, fatal: 50 };

/**
 * Structured logs: one JSON object per line on stdout (or a compact human form). Callers log
 * shapes, ids and byte counts; tensor payloads and request bodies are never logged.
 */
export class JsonLogger implements LoggerService {
  private threshold: number;

  constructor(
    level: 'debug' | 'info' | 'warn' | 'error' = 'info',
    private readonly format: 'json' | 'pretty' = 'json',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {
    this.threshold = LEVELS[level];
  }

  setLogLevels(levels: LogLevel[]): void {
    this.threshold = Math.min(...levels.map((l) => LEVELS[l] ?? 20));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('fatal', message, rest);
  }

  private emit(requested: string, message: unknown, rest: unknown[]): void {
    // Nest passes the context as the last string argument, and a stack before it for errors.
    const args = [...rest];
    const context = typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    const level = requested === 'info' && context && NEST_BOOT_CONTEXTS.has(context) ? 'debug' : requested;
    if (LEVELS[level] < this.threshold) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level };
    if (context) entry.context = context;
    const requestId = currentRequestId();
    if (requestId) entry.requestId = requestId;
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      // Caller fields never overwrite time, level, context or requestId.
      for (const [k, v] of Object.entries(message)) if (!(k in entry)) entry[k] = v;
    } else {
      entry.msg = String(message);
    }
    if (typeof args[0] === 'string' && level === 'error') entry.stack = args[0];
    if (this.format === 'pretty') {
      const { time, level: lv, msg, context: ctx, ...extra } = entry;
      const tail = Object.keys(extra).length ? ' ' + JSON.stringify(extra) : '';
      this.write(`${String(time)} ${String(lv).toUpperCase()} ${ctx ? `[${String(ctx)}] ` : ''}${String(msg ?? '')}${tail}`);
    } else {
      this.write(JSON.stringify(entry));
    }
  }
}
