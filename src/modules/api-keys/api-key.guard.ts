import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { PUBLIC_ROUTE, REQUIRED_SCOPE, scopeSatisfies, type Scope } from '../../http/auth.decorators';
import { ServiceError } from '../../core/service-error';
import type { ApiKey } from './api-key.types';
import { ApiKeysService } from './api-keys.service';

/** Bearer API keys; GET/HEAD need `read`, other methods `write`, unless a route says otherwise. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** Verifications in flight or done, per request: the rate limit and this guard share one. */
  private readonly verified = new WeakMap<Request, Promise<ApiKey | null>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The request's verified API key; null without a Bearer key or for an unknown or revoked one. */
  authenticate(req: Request): Promise<ApiKey | null> {
    let verified = this.verified.get(req);
    if (!verified) {
      const key = bearerKeyOf(req);
      verified = key === null ? Promise.resolve(null) : this.keys.verify(key);
      this.verified.set(req, verified);
    }
    return verified;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    if (!this.config.auth.enabled) return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (bearerKeyOf(req) === null) throw new ServiceError('UNAUTHENTICATED', 'an API key is required: send Authorization: Bearer <key>');
    const key = await this.authenticate(req);
    if (!key) throw new ServiceError('UNAUTHENTICATED', 'the API key is unknown or revoked');
    const required =
      this.reflector.getAllAndOverride<Scope>(REQUIRED_SCOPE, targets) ?? (['GET', 'HEAD'].includes(req.method) ? 'read' : 'write');
    if (!scopeSatisfies(key.scopes, required)) {
      throw new ServiceError('FORBIDDEN', `this API key lacks the '${required}' scope`, { granted: key.scopes, required });
    }
    return true;
  }
}

function bearerKeyOf(req: Request): string | null {
  return /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1] ?? null;
}
