import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  normalizeIp,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { ServiceError } from '../../core/service-error';
import { ApiKeyGuard } from './api-key.guard';

/** Requests are counted over a sliding window of one minute. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/** The throttler settings: one budget of `WEIGHTSMITH_RATE_LIMIT_PER_MINUTE` per tracker, no extra penalty once spent. */
export function rateLimitOptions(config: AppConfig): ThrottlerModuleOptions {
  return { throttlers: [{ ttl: RATE_LIMIT_WINDOW_MS, limit: config.limits.rateLimitPerMinute, blockDuration: 0 }], setHeaders: false };
}

/**
 * Rate limit per API key: a request with a verified key spends that key's budget, wherever it
 * comes from; any other (no key, an unknown or revoked one, public routes, or authentication
 * disabled) spends its client address's (`req.ip`, which honours WEIGHTSMITH_TRUST_PROXY). So
 * tenants behind one gateway do not share a budget, and guessing keys is limited per address
 * without touching the budget of a valid key. Runs before ApiKeyGuard, whose verification it
 * shares, so that failed authentications are counted too. Routes marked `@SkipThrottle()`
 * (health) are never limited. In-process: each replica enforces its own budget.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly apiKeys: ApiKeyGuard,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(): Promise<boolean> {
    return this.config.limits.rateLimitPerMinute === 0;
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as Request;
    const key = this.config.auth.enabled ? await this.apiKeys.authenticate(request) : null;
    if (key) return `key:${key.id}`;
    return `address:${normalizeIp(request.ip ?? request.socket?.remoteAddress ?? 'unknown', this.ipv6SubnetPrefix)}`;
  }

  /** One budget per tracker across all routes (the default gives each route its own). */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const whose = detail.tracker.startsWith('key:') ? 'this API key' : 'this client address';
    throw new ServiceError('RATE_LIMITED', `rate limit of ${detail.limit} requests per minute exceeded for ${whose}`, {
      retryAfterSeconds: Math.max(1, detail.timeToBlockExpire),
    });
  }
}
