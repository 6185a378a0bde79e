import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import type { Scope } from '../../http/auth.decorators';
import { ServiceError } from '../../core/service-error';
import type { ApiKey } from './api-key.types';
import { ApiKeysRepository } from './api-keys.repository';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function newKey(): string {
  return 'ws_' + randomBytes(24).toString('base64url');
}

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);
  /** Recently verified keys, so that each request does not cost a database round trip. */
  private readonly cache = new Map<string, { key: ApiKey; until: number }>();
  /** The admin key made at this start, until the server has shown it (once, after it listens). */
  private createdAdminKey: string | null = null;

  constructor(
    private readonly repository: ApiKeysRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** First start with auth on and no key: store the configured admin key, or make one for the server to show once. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.auth.enabled) {
      this.logger.warn('authentication is DISABLED (WEIGHTSMITH_AUTH=disabled): every request is admin');
      return;
    }
    const configured = this.config.auth.adminKey;
    if (configured) {
      const hash = hashKey(configured);
      const stored = await this.repository.createIfAbsent({ name: 'bootstrap admin (WEIGHTSMITH_ADMIN_KEY)', prefix: configured.slice(0, 10), hash, scopes: ['admin'] });
      if (!stored && !(await this.repository.findActiveByHash(hash))) this.logger.warn('WEIGHTSMITH_ADMIN_KEY was revoked: it is not restored; use another key');
      return;
    }
    const key = newKey();
    if (await this.repository.createFirst({ name: 'bootstrap admin', prefix: key.slice(0, 10), hash: hashKey(key), scopes: ['admin'] })) this.createdAdminKey = key;
  }

  /** The admin key created at this start, handed out once (the server prints it last, after it listens). */
  takeCreatedAdminKey(): string | null {
    const key = this.createdAdminKey;
    this.createdAdminKey = null;
    return key;
  }

  async create(name: string, scopes: Scope[]): Promise<{ apiKey: ApiKey; key: string }> {
    const key = newKey();
    const apiKey = await this.repository.create({ name, prefix: key.slice(0, 10), hash: hashKey(key), scopes: [...new Set(scopes)] });
    return { apiKey, key };
  }

  async verify(key: string): Promise<ApiKey | null> {
    const hash = hashKey(key);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.key;
    const found = await this.repository.findActiveByHash(hash);
    if (found) {
      this.cache.set(hash, { key: found, until: now + 10_000 });
      await this.repository.touch(found.id, new Date(now));
    }
    return found;
  }

  list(): Promise<ApiKey[]> {
    return this.repository.list();
  }

  /** Revokes a key; the last active admin key cannot be revoked (409 API_KEY_LAST_ADMIN): nobody could manage keys after it. */
  async revoke(id: string): Promise<ApiKey> {
    const revoked = await this.repository.revoke(id);
    if (revoked === 'not-found') throw new ServiceError('API_KEY_NOT_FOUND', `API key ${id} does not exist or is already revoked`);
    if (revoked === 'last-admin') {
      throw new ServiceError('API_KEY_LAST_ADMIN', `API key ${id} is the last active key with the admin scope; create another admin key before revoking it`);
    }
    this.cache.clear();
    return revoked;
  }
}
