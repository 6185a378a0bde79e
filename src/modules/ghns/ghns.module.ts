import { Module } from '@nestjs/common';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { GhnsController } from './ghns.controller';
import { GhnsRepository } from './ghns.repository';
import { GhnsService } from './ghns.service';

@Module({
  imports: [CheckpointsModule],
  controllers: [GhnsController],
  providers: [GhnsRepository, GhnsService],
  exports: [GhnsService],
})
export class GhnsModule {}
