import { Module } from '@nestjs/common';
import { ArchitecturesModule } from '../architectures/architectures.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { HealthModule } from '../health/health.module';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsRepository } from './deployments.repository';
import { DeploymentsService } from './deployments.service';
import { InferBodyReaderInstaller } from './infer-body';
import { InferenceMetrics } from './inference-metrics';
import { InferenceService } from './inference.service';
import { ModelLoader } from './model-loader';
import { OipController } from './oip.controller';

/** Deployments (/v1/deployments) and the Open Inference Protocol (/v2); /v2/health/ready runs the same checks as /health/ready. */
@Module({
  imports: [ArchitecturesModule, CheckpointsModule, HealthModule],
  controllers: [DeploymentsController, OipController],
  providers: [DeploymentsService, ModelLoader, DeploymentsRepository, InferenceService, InferenceMetrics, InferBodyReaderInstaller],
})
export class InferenceModule {}
