import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../http/api-problems.decorator';
import { toDeploymentDto } from './deployment.mapper';
import { DeploymentsService } from './deployments.service';
import { CreateDeploymentDto, DeploymentDto, DeploymentListDto } from './dto/deployment.dto';

/** Loaded models, served by the Open Inference Protocol under /v2 (recorded; loaded again at every start). */
@ApiTags('inference')
@ApiBearerAuth()
@Controller('v1/deployments')
export class DeploymentsController {
  constructor(private readonly deployments: DeploymentsService) {}

  /** Loads a checkpoint into an engine (bound by tensor name to its architecture's graph) and starts serving it. */
  @ApiOperation({ summary: 'Deploy a checkpoint for inference' })
  @Post()
  @ApiCreatedResponse({ type: DeploymentDto })
  @ApiProblems(400, 404, 409, 422)
  async createDeployment(@Body() body: CreateDeploymentDto): Promise<DeploymentDto> {
    const d = await this.deployments.create(body);
    return toDeploymentDto(d, this.deployments.queueDepth(d.name));
  }

  @ApiOperation({ summary: 'List deployments' })
  @Get()
  @ApiOkResponse({ type: DeploymentListDto })
  @ApiProblems()
  listDeployments(): DeploymentListDto {
    return { items: this.deployments.list().map((d) => toDeploymentDto(d, this.deployments.queueDepth(d.name))) };
  }

  @ApiOperation({ summary: 'Get a deployment' })
  @Get(':name')
  @ApiOkResponse({ type: DeploymentDto })
  @ApiProblems(404)
  getDeployment(@Param('name') name: string): DeploymentDto {
    return toDeploymentDto(this.deployments.get(name), this.deployments.queueDepth(name));
  }

  /** Unloads the model: waiting requests fail with 503, the running batch completes, the engine is freed. */
  @ApiOperation({ summary: 'Undeploy a model' })
  @Delete(':name')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Unloaded' })
  @ApiProblems(404)
  async deleteDeployment(@Param('name') name: string): Promise<void> {
    await this.deployments.delete(name);
  }
}
