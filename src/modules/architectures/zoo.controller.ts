import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../http/api-problems.decorator';
import { ArchitecturesService } from './architectures.service';
import { ZooModelListDto } from './dto/architecture.dto';

@ApiTags('architectures')
@ApiBearerAuth()
@Controller('v1/zoo')
export class ZooController {
  constructor(private readonly architectures: ArchitecturesService) {}

  /** The built-in architectures: torchvision's and CIFAR-style ResNets (POST /v1/architectures with `{"zoo": name}`). */
  @ApiOperation({ summary: 'List the model zoo' })
  @Get()
  @ApiOkResponse({ type: ZooModelListDto })
  @ApiProblems()
  async listZooModels(): Promise<ZooModelListDto> {
    return { items: await this.architectures.zoo() };
  }
}
