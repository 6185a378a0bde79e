import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Public, RequireScope, scopeSatisfies, type Scope } from '../../http/auth.decorators';
import type { AppConfig } from '../../infra/config/app-config';
import { ServiceError } from '../../core/service-error';
import { ApiKeyGuard } from './api-key.guard';
import type { ApiKey } from './api-key.types';
import type { ApiKeysService } from './api-keys.service';

// The guard needs the class only as a DI token; a stand-in keeps Prisma out of this unit test.
jest.mock('./api-keys.service', () => ({ ApiKeysService: class ApiKeysService {} }));

// Real decorators on a fake controller, read through Nest's real Reflector.
class OpenController {
  @Public()
  health(): void {}
}

class CheckpointsController {
  list(): void {}
  @RequireScope('admin')
  purge(): void {}
  @RequireScope('read')
  search(): void {}
}

@RequireScope('admin')
class AdminController {
  createKey(): void {}
  @Public()
  openEndpoint(): void {}
}

const KEYS: Record<string, string[]> = { 'read-key': ['read'], 'write-key': ['write'], 'admin-key': ['admin'], 'odd-key': ['billing'] };

const fakeKeys = {
  verify: jest.fn(async (key: string): Promise<ApiKey | null> => {
    const scopes = KEYS[key];
    return scopes ? { id: key, name: key, prefix: key.slice(0, 4), scopes, createdAt: new Date(0), lastUsedAt: null, revokedAt: null } : null;
  }),
};

function context(controller: new () => object, handler: string, method: string, authorization?: string): ExecutionContext {
  const req = { method, header: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined) };
  return {
    getHandler: () => (controller.prototype as Record<string, unknown>)[handler],
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
}

function guard(authEnabled = true): ApiKeyGuard {
  const config = { auth: { enabled: authEnabled, adminKey: null } } as AppConfig;
  return new ApiKeyGuard(new Reflector(), fakeKeys as unknown as ApiKeysService, config);
}

async function refusal(promise: Promise<boolean>): Promise<ServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceError);
  return error as ServiceError;
}

describe('ApiKeyGuard', () => {
  beforeEach(() => fakeKeys.verify.mockClear());

  it('lets public routes through without a key, and without asking the key service', async () => {
    await expect(guard().canActivate(context(OpenController, 'health', 'GET'))).resolves.toBe(true);
    await expect(guard().canActivate(context(AdminController, 'openEndpoint', 'POST'))).resolves.toBe(true);
    expect(fakeKeys.verify).not.toHaveBeenCalled();
  });

  it('lets everything through when auth is disabled', async () => {
    await expect(guard(false).canActivate(context(AdminController, 'createKey', 'DELETE'))).resolves.toBe(true);
    expect(fakeKeys.verify).not.toHaveBeenCalled();
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not Bearer', 'Basic dXNlcjpwYXNz'],
    ['Bearer without key', 'Bearer '],
    ['two tokens', 'Bearer read-key extra'],
  ])('refuses a %s Authorization header with UNAUTHENTICATED', async (_what, header) => {
    const error = await refusal(guard().canActivate(context(CheckpointsController, 'list', 'GET', header)));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(fakeKeys.verify).not.toHaveBeenCalled();
  });

  it('refuses an unknown or revoked key with UNAUTHENTICATED', async () => {
    const error = await refusal(guard().canActivate(context(CheckpointsController, 'list', 'GET', 'Bearer nope')));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(fakeKeys.verify).toHaveBeenCalledWith('nope');
  });

  it('accepts the scheme in any case and extra spaces', async () => {
    await expect(guard().canActivate(context(CheckpointsController, 'list', 'GET', 'bearer   read-key'))).resolves.toBe(true);
    expect(fakeKeys.verify).toHaveBeenCalledWith('read-key');
  });

  it('lets a read key GET and HEAD, but not POST, PUT or DELETE', async () => {
    for (const method of ['GET', 'HEAD']) {
      await expect(guard().canActivate(context(CheckpointsController, 'list', method, 'Bearer read-key'))).resolves.toBe(true);
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const error = await refusal(guard().canActivate(context(CheckpointsController, 'list', method, 'Bearer read-key')));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.details).toEqual({ granted: ['read'], required: 'write' });
    }
  });

  it('lets write and admin keys write', async () => {
    await expect(guard().canActivate(context(CheckpointsController, 'list', 'POST', 'Bearer write-key'))).resolves.toBe(true);
    await expect(guard().canActivate(context(CheckpointsController, 'list', 'DELETE', 'Bearer admin-key'))).resolves.toBe(true);
  });

  it('requires admin on @RequireScope(admin) routes, on a method or a whole controller', async () => {
    for (const [controller, handler] of [
      [CheckpointsController, 'purge'],
      [AdminController, 'createKey'],
    ] as const) {
      for (const key of ['read-key', 'write-key']) {
        const error = await refusal(guard().canActivate(context(controller, handler, 'GET', `Bearer ${key}`)));
        expect(error.code).toBe('FORBIDDEN');
        expect(error.details).toMatchObject({ required: 'admin' });
      }
      await expect(guard().canActivate(context(controller, handler, 'GET', 'Bearer admin-key'))).resolves.toBe(true);
    }
  });

  it('lets @RequireScope(read) lower the default for a POST route', async () => {
    await expect(guard().canActivate(context(CheckpointsController, 'search', 'POST', 'Bearer read-key'))).resolves.toBe(true);
  });

  it('grants nothing to a key with only unknown scopes', async () => {
    const error = await refusal(guard().canActivate(context(CheckpointsController, 'list', 'GET', 'Bearer odd-key')));
    expect(error.code).toBe('FORBIDDEN');
  });
});

describe('scopeSatisfies', () => {
  const cases: [string[], Scope, boolean][] = [
    [['read'], 'read', true],
    [['read'], 'write', false],
    [['read'], 'admin', false],
    [['write'], 'read', true],
    [['write'], 'write', true],
    [['write'], 'admin', false],
    [['admin'], 'read', true],
    [['admin'], 'write', true],
    [['admin'], 'admin', true],
    [['read', 'admin'], 'admin', true],
    [[], 'read', false],
    [['superuser'], 'read', false],
  ];
  it.each(cases)('%j satisfies %s: %s', (granted, required, expected) => {
    expect(scopeSatisfies(granted, required)).toBe(expected);
  });
});
