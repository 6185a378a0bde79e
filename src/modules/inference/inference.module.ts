import { Module } from '@nestjs/common';
import { ArchitecturesModule } from '../architectures/architectures.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { HealthService } from '../health/health.service';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsRepository } from './deployments.repository';
import { DeploymentsService } from './deployments.service';
import { InferBodyReaderInstaller } from './infer-body';
import { InferenceMetrics } from './inference-metrics';
import { InferenceService } from './inference.service';
import { OipController } from './oip.controller';

/**
 * Deployments (/v1/deployments) and the Open Inference Protocol (/v2). HealthService is provided
 * here too (HealthModule does not export it) so /v2/health/ready runs the same checks as /health/ready.
 */
@Module({
  imports: [ArchitecturesModule, CheckpointsModule],
  controllers: [DeploymentsController, OipController],
  providers: [DeploymentsService, DeploymentsRepository, InferenceService, InferenceMetrics, InferBodyReaderInstaller, HealthService],
})
export class InferenceModule {}
