import { Module } from '@nestjs/common';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

/** /health/live, /health/ready and /metrics; HealthService also answers /v2/health/ready. */
@Module({ imports: [CheckpointsModule], controllers: [HealthController], providers: [HealthService], exports: [HealthService] })
export class HealthModule {}
