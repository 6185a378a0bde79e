import { Module } from '@nestjs/common';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { DatasetsModule } from '../datasets/datasets.module';
import { EvaluationsModule } from '../evaluations/evaluations.module';
import { JobsModule } from '../jobs/jobs.module';
import { SoupRunner } from './soup-runner';
import { SoupsController } from './soups.controller';
import { SoupsRepository } from './soups.repository';
import { SoupsService } from './soups.service';

@Module({
  imports: [CheckpointsModule, DatasetsModule, EvaluationsModule, JobsModule],
  controllers: [SoupsController],
  providers: [SoupsRepository, SoupRunner, SoupsService],
  exports: [SoupsService],
})
export class SoupsModule {}
