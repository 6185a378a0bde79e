import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SkipThrottle, ThrottlerStorageService } from '@nestjs/throttler';
import type { Request } from 'express';
import { loadConfig } from '../../infra/config/app-config';
import { ServiceError } from '../../core/service-error';
import type { ApiKeyGuard } from './api-key.guard';
import type { ApiKey } from './api-key.types';
import { RateLimitGuard, rateLimitOptions } from './rate-limit.guard';

// The guard needs the class only as a DI token; a stand-in keeps Prisma out of this unit test.
jest.mock('./api-keys.service', () => ({ ApiKeysService: class ApiKeysService {} }));

class CheckpointsController {
  list(): void {}
  get(): void {}
  @SkipThrottle()
  probe(): void {}
}

const VALID: Record<string, string> = { 'ws_alice': 'alice-id', 'ws_bob': 'bob-id' };

/** Stands in for ApiKeyGuard.authenticate: the Bearer key's record, or null. */
const apiKeys = {
  authenticate: async (req: Request): Promise<ApiKey | null> => {
    const token = /^Bearer (\S+)$/.exec(req.header('authorization') ?? '')?.[1];
    const id = token ? VALID[token] : undefined;
    return id ? { id, name: id, prefix: 'ws_', scopes: ['read'], createdAt: new Date(0), lastUsedAt: null, revokedAt: null } : null;
  },
} as unknown as ApiKeyGuard;

function context(opts: { key?: string; ip?: string; handler?: keyof CheckpointsController } = {}): ExecutionContext {
  const req = {
    ip: opts.ip ?? '10.0.0.1',
    headers: {},
    header: (name: string) => (name.toLowerCase() === 'authorization' && opts.key ? `Bearer ${opts.key}` : undefined),
  };
  return {
    getHandler: () => CheckpointsController.prototype[opts.handler ?? 'list'],
    getClass: () => CheckpointsController,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

describe('RateLimitGuard', () => {
  const storages: ThrottlerStorageService[] = [];
  afterEach(() => storages.splice(0).forEach((s) => s.onApplicationShutdown()));

  async function guard(env: Record<string, string> = {}): Promise<RateLimitGuard> {
    const config = loadConfig({ WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: '3', ...env });
    const storage = new ThrottlerStorageService();
    storages.push(storage);
    const g = new RateLimitGuard(rateLimitOptions(config), storage, new Reflector(), apiKeys, config);
    await g.onModuleInit();
    return g;
  }

  /** The error a request gets, or null when it passes. */
  async function attempt(g: RateLimitGuard, ctx: ExecutionContext): Promise<ServiceError | null> {
    try {
      expect(await g.canActivate(ctx)).toBe(true);
      return null;
    } catch (e) {
      return e as ServiceError;
    }
  }

  it('gives each API key its own budget, shared by all routes and addresses', async () => {
    const g = await guard();
    expect(await attempt(g, context({ key: 'ws_alice', ip: '10.0.0.1' }))).toBeNull();
    expect(await attempt(g, context({ key: 'ws_alice', ip: '10.0.0.2', handler: 'get' }))).toBeNull();
    expect(await attempt(g, context({ key: 'ws_alice', ip: '10.0.0.3' }))).toBeNull();
    const refused = await attempt(g, context({ key: 'ws_alice', ip: '10.0.0.4', handler: 'get' }));
    expect(refused).toBeInstanceOf(ServiceError);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('this API key') });
    const retryAfter = (refused!.details as { retryAfterSeconds: number }).retryAfterSeconds;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Bob, behind the same gateway address, is untouched; so is a keyless client there.
    for (let i = 0; i < 3; i++) expect(await attempt(g, context({ key: 'ws_bob', ip: '10.0.0.1' }))).toBeNull();
    expect(await attempt(g, context({ ip: '10.0.0.1' }))).toBeNull();
  });

  it('counts requests without a valid key per address, apart from the valid keys used there', async () => {
    const g = await guard();
    for (const key of ['ws_guess1', 'ws_guess2', undefined]) expect(await attempt(g, context({ key, ip: '10.0.0.9' }))).toBeNull();
    const refused = await attempt(g, context({ key: 'ws_guess3', ip: '10.0.0.9' }));
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('this client address') });
    // A valid key at that address keeps its full budget, and another address is not affected.
    for (let i = 0; i < 3; i++) expect(await attempt(g, context({ key: 'ws_alice', ip: '10.0.0.9' }))).toBeNull();
    expect(await attempt(g, context({ key: 'ws_guess4', ip: '10.0.0.10' }))).toBeNull();
  });

  it('groups IPv6 clients by /64 and IPv4-mapped addresses with their IPv4 form', async () => {
    const g = await guard();
    expect(await attempt(g, context({ ip: '2001:db8:1:2::1' }))).toBeNull();
    expect(await attempt(g, context({ ip: '2001:db8:1:2::2' }))).toBeNull();
    expect(await attempt(g, context({ ip: '2001:db8:1:2:ffff::3' }))).toBeNull();
    expect(await attempt(g, context({ ip: '2001:db8:1:2::4' }))).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await attempt(g, context({ ip: '2001:db8:1:3::1' }))).toBeNull();
    for (let i = 0; i < 3; i++) expect(await attempt(g, context({ ip: '::ffff:192.0.2.7' }))).toBeNull();
    expect(await attempt(g, context({ ip: '192.0.2.7' }))).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('never limits routes marked @SkipThrottle()', async () => {
    const g = await guard();
    for (let i = 0; i < 3; i++) await attempt(g, context());
    expect(await attempt(g, context())).toMatchObject({ code: 'RATE_LIMITED' });
    for (let i = 0; i < 10; i++) expect(await attempt(g, context({ handler: 'probe' }))).toBeNull();
  });

  it('tracks addresses only when authentication is disabled', async () => {
    const g = await guard({ WEIGHTSMITH_AUTH: 'disabled' });
    for (let i = 0; i < 3; i++) expect(await attempt(g, context({ key: i % 2 ? 'ws_alice' : 'ws_bob' }))).toBeNull();
    expect(await attempt(g, context({ key: 'ws_alice' }))).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('address') });
  });

  it('is disabled by a limit of 0', async () => {
    const g = await guard({ WEIGHTSMITH_RATE_LIMIT_PER_MINUTE: '0' });
    for (let i = 0; i < 100; i++) expect(await attempt(g, context({ key: 'ws_alice' }))).toBeNull();
  });
});
