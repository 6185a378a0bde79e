import { Module, ValidationPipe, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { StorableTextPipe } from './http/storable-text.pipe';
import { ServiceError } from './core/service-error';
import type { AppConfig } from './infra/config/app-config';
import { ConfigModule } from './infra/config/config.module';
import { DatabaseModule } from './infra/database/database.module';
import { MetricsModule } from './infra/metrics/metrics.module';
import { ReferencesModule } from './infra/references/reference-registry';
import { StorageModule } from './infra/storage/storage.module';
import { TensorRuntimeModule } from './infra/tensor-runtime/tensor-runtime.module';
import { ApiKeyGuard } from './modules/api-keys/api-key.guard';
import { ApiKeysModule } from './modules/api-keys/api-keys.module';
import { RateLimitGuard } from './modules/api-keys/rate-limit.guard';
import { ArchitecturesModule } from './modules/architectures/architectures.module';
import { CheckpointsModule } from './modules/checkpoints/checkpoints.module';
import { DatasetsModule } from './modules/datasets/datasets.module';
import { EvaluationsModule } from './modules/evaluations/evaluations.module';
import { GhnsModule } from './modules/ghns/ghns.module';
import { HealthModule } from './modules/health/health.module';
import { InitializationsModule } from './modules/initializations/initializations.module';
import { TrainingsModule } from './modules/trainings/trainings.module';
import { SoupsModule } from './modules/soups/soups.module';
import { PopulationsModule } from './modules/populations/populations.module';
import { InferenceModule } from './modules/inference/inference.module';
import { JobsModule } from './modules/jobs/jobs.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MetricsModule,
        DatabaseModule,
        StorageModule,
        ReferencesModule,
        TensorRuntimeModule,
        ApiKeysModule,
        JobsModule,
        ArchitecturesModule,
        CheckpointsModule,
        DatasetsModule,
        EvaluationsModule,
        GhnsModule,
        InitializationsModule,
        TrainingsModule,
        SoupsModule,
        PopulationsModule,
        InferenceModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        // In this order: the rate limit counts requests whose authentication fails as well.
        { provide: APP_GUARD, useExisting: RateLimitGuard },
        { provide: APP_GUARD, useExisting: ApiKeyGuard },
        // Global pipes run in this order: NUL characters first, then the DTO rules.
        { provide: APP_PIPE, useClass: StorableTextPipe },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
            exceptionFactory: (errors) =>
              new ServiceError('VALIDATION_FAILED', 'request validation failed', {
                errors: errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => m)),
              }),
          }),
        },
      ],
    };
  }
}
