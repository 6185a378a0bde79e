import { JsonLogger } from './json-logger';
import { currentRequestId, requestContext } from './request-context';

function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'info', format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  const logger = new JsonLogger(level, format, (line) => lines.push(line));
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, entries };
}

describe('JsonLogger', () => {
  it('writes one JSON object per call with time, level, msg and the Nest context', () => {
    const { logger, lines, entries } = capture();
    logger.log('server listening', 'Bootstrap');
    logger.warn('disk almost full');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    const [first, second] = entries();
    expect(first).toEqual({ time: expect.any(String), level: 'info', msg: 'server listening', context: 'Bootstrap' });
    expect(new Date(first.time as string).toISOString()).toBe(first.time);
    expect(second).toEqual({ time: expect.any(String), level: 'warn', msg: 'disk almost full' });
  });

  it('merges object messages into the entry', () => {
    const { logger, entries } = capture();
    logger.log({ msg: 'checkpoint stored', bytes: 1024, sha256: 'ab'.repeat(32) }, 'Checkpoints');
    expect(entries()[0]).toMatchObject({ level: 'info', msg: 'checkpoint stored', bytes: 1024, context: 'Checkpoints' });
  });

  it('adds the request id inside requestContext.run, and not outside it', async () => {
    const { logger, entries } = capture();
    await requestContext.run({ requestId: 'req-42' }, async () => {
      await Promise.resolve();
      expect(currentRequestId()).toBe('req-42');
      logger.log('inside');
    });
    logger.log('outside');
    const [inside, outside] = entries();
    expect(inside.requestId).toBe('req-42');
    expect(outside).not.toHaveProperty('requestId');
  });

  it('drops entries below the threshold', () => {
    const { logger, entries } = capture('warn');
    logger.debug('d');
    logger.verbose('v');
    logger.log('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    expect(entries().map((e) => [e.level, e.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
      ['fatal', 'f'],
    ]);
  });

  it('logs debug (and verbose as debug) at the debug level', () => {
    const { logger, entries } = capture('debug');
    logger.debug('d');
    logger.verbose('v');
    expect(entries().map((e) => [e.level, e.msg])).toEqual([
      ['debug', 'd'],
      ['debug', 'v'],
    ]);
  });

  it('follows setLogLevels, taking the most verbose level given', () => {
    const { logger, entries } = capture('error');
    logger.warn('hidden');
    logger.setLogLevels(['warn', 'error']);
    logger.warn('shown');
    logger.log('hidden too');
    expect(entries().map((e) => e.msg)).toEqual(['shown']);
  });

  it('includes the stack of an Error message', () => {
    const { logger, entries } = capture();
    const error = new Error('disk on fire');
    logger.error(error, 'Jobs');
    expect(entries()[0]).toMatchObject({ level: 'error', msg: 'disk on fire', stack: error.stack, context: 'Jobs' });
    expect(String(entries()[0].stack)).toContain('json-logger.spec.ts');
  });

  it('takes the stack Nest passes before the context for error()', () => {
    const { logger, entries } = capture();
    logger.error('request failed', 'Error: boom\n    at handler (x.ts:1:1)', 'HTTP');
    expect(entries()[0]).toMatchObject({ level: 'error', msg: 'request failed', stack: 'Error: boom\n    at handler (x.ts:1:1)', context: 'HTTP' });
  });

  it('writes a compact human line in pretty format', () => {
    const { logger, lines } = capture('info', 'pretty');
    logger.log('server listening', 'Bootstrap');
    logger.warn({ msg: 'slow request', ms: 1500 });
    requestContext.run({ requestId: 'r1' }, () => logger.error('failed', 'HTTP'));
    expect(lines[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\S+Z INFO \[Bootstrap\] server listening$/);
    expect(lines[1]).toMatch(/^\S+ WARN slow request \{"ms":1500\}$/);
    expect(lines[2]).toMatch(/^\S+ ERROR \[HTTP\] failed \{"requestId":"r1"\}$/);
  });

  it('writes to stdout by default', () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      new JsonLogger().log('hello');
      expect(write).toHaveBeenCalledTimes(1);
      const line = String(write.mock.calls[0][0]);
      expect(line.endsWith('\n')).toBe(true);
      expect(JSON.parse(line)).toMatchObject({ level: 'info', msg: 'hello' });
    } finally {
      write.mockRestore();
    }
  });
});
