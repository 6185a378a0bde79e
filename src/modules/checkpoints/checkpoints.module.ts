import { Module } from '@nestjs/common';
import { ArchitecturesModule } from '../architectures/architectures.module';
import { JobsModule } from '../jobs/jobs.module';
import { CheckpointReader } from './checkpoint-reader';
import { CheckpointWeightsController } from './checkpoint-weights.controller';
import { CheckpointsController } from './checkpoints.controller';
import { CheckpointsRepository } from './checkpoints.repository';
import { CheckpointsService } from './checkpoints.service';
import { SharedBlobs } from './shared-blobs';

@Module({
  imports: [JobsModule, ArchitecturesModule],
  controllers: [CheckpointsController, CheckpointWeightsController],
  providers: [CheckpointsRepository, CheckpointsService, CheckpointReader, SharedBlobs],
  exports: [CheckpointsService, CheckpointReader, SharedBlobs],
})
export class CheckpointsModule {}
