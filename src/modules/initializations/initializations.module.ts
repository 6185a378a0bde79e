import { Module } from '@nestjs/common';
import { ArchitecturesModule } from '../architectures/architectures.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { GhnsModule } from '../ghns/ghns.module';
import { JobsModule } from '../jobs/jobs.module';
import { InitializationRunner } from './initialization-runner';
import { InitializationsController } from './initializations.controller';
import { InitializationsRepository } from './initializations.repository';
import { InitializationsService } from './initializations.service';

@Module({
  imports: [ArchitecturesModule, CheckpointsModule, GhnsModule, JobsModule],
  controllers: [InitializationsController],
  providers: [InitializationsRepository, InitializationRunner, InitializationsService],
  exports: [InitializationsService],
})
export class InitializationsModule {}
