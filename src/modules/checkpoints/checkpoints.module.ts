import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { CheckpointWeightsController } from './checkpoint-weights.controller';
import { CheckpointsController } from './checkpoints.controller';
import { CheckpointsRepository } from './checkpoints.repository';
import { CheckpointsService } from './checkpoints.service';

@Module({
  imports: [JobsModule],
  controllers: [CheckpointsController, CheckpointWeightsController],
  providers: [CheckpointsRepository, CheckpointsService],
  exports: [CheckpointsService],
})
export class CheckpointsModule {}
