import { Module } from '@nestjs/common';
import { ArchitectureViewsService } from './architecture-views.service';
import { ArchitecturesController } from './architectures.controller';
import { ArchitecturesRepository } from './architectures.repository';
import { ArchitecturesService } from './architectures.service';
import { ZooController } from './zoo.controller';
import { ZooCatalog } from './zoo-catalog';

@Module({
  controllers: [ArchitecturesController, ZooController],
  providers: [ArchitecturesRepository, ArchitecturesService, ArchitectureViewsService, ZooCatalog],
  exports: [ArchitecturesService],
})
export class ArchitecturesModule {}
