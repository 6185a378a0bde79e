import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { PUBLIC_ROUTE, REQUIRED_SCOPE, scopeSatisfies, type Scope } from '../../http/auth.decorators';
import { ServiceError } from '../../core/service-error';
import { ApiKeysService } from './api-keys.service';

/** Bearer API keys; GET/HEAD need `read`, other methods `write`, unless a route says otherwise. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    if (!this.config.auth.enabled) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ServiceError('UNAUTHENTICATED', 'an API key is required: send Authorization: Bearer <key>');
    const key = await this.keys.verify(match[1]);
    if (!key) throw new ServiceError('UNAUTHENTICATED', 'the API key is unknown or revoked');
    const required =
      this.reflector.getAllAndOverride<Scope>(REQUIRED_SCOPE, targets) ?? (['GET', 'HEAD'].includes(req.method) ? 'read' : 'write');
    if (!scopeSatisfies(key.scopes, required)) {
      throw new ServiceError('FORBIDDEN', `this API key lacks the '${required}' scope`, { granted: key.scopes, required });
    }
    return true;
  }
}
