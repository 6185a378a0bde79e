import { Module } from '@nestjs/common';
import { ArchitecturesModule } from '../architectures/architectures.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { PopulationsController } from './populations.controller';
import { PopulationsRepository } from './populations.repository';
import { PopulationsService } from './populations.service';

@Module({
  imports: [ArchitecturesModule, CheckpointsModule],
  controllers: [PopulationsController],
  providers: [PopulationsRepository, PopulationsService],
  exports: [PopulationsService],
})
export class PopulationsModule {}
