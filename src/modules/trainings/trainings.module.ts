import { Module } from '@nestjs/common';
import { ArchitecturesModule } from '../architectures/architectures.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { DatasetsModule } from '../datasets/datasets.module';
import { InitializationsModule } from '../initializations/initializations.module';
import { JobsModule } from '../jobs/jobs.module';
import { TrainingRunner } from './training-runner';
import { TrainingsController } from './trainings.controller';
import { TrainingsRepository } from './trainings.repository';
import { TrainingsService } from './trainings.service';

@Module({
  imports: [ArchitecturesModule, CheckpointsModule, DatasetsModule, InitializationsModule, JobsModule],
  controllers: [TrainingsController],
  providers: [TrainingsRepository, TrainingRunner, TrainingsService],
  exports: [TrainingsService],
})
export class TrainingsModule {}
