import { Module } from '@nestjs/common';
import { ArchitecturesModule } from '../architectures/architectures.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { DatasetsModule } from '../datasets/datasets.module';
import { JobsModule } from '../jobs/jobs.module';
import { EvaluationRunner } from './evaluation-runner';
import { EvaluationsController } from './evaluations.controller';
import { EvaluationsRepository } from './evaluations.repository';
import { EvaluationsService } from './evaluations.service';

@Module({
  imports: [ArchitecturesModule, CheckpointsModule, DatasetsModule, JobsModule],
  controllers: [EvaluationsController],
  providers: [EvaluationsRepository, EvaluationRunner, EvaluationsService],
  exports: [EvaluationsService],
})
export class EvaluationsModule {}
