import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../http/api-problems.decorator';
import { decodeCursor, page } from '../../http/pagination';
import { JobDto, JobPageDto, ListJobsQueryDto } from './dto/job.dto';
import { toJobDto } from './job.mapper';
import { JobsService } from './jobs.service';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @ApiOperation({ summary: 'List jobs' })
  @Get()
  @ApiOkResponse({ type: JobPageDto })
  @ApiProblems(400)
  async listJobs(@Query() query: ListJobsQueryDto): Promise<JobPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.jobs.list({ status: query.status, type: query.type, limit: limit + 1, cursor: decodeCursor(query.cursor) });
    const { items, nextCursor } = page(rows, limit);
    return { items: items.map(toJobDto), nextCursor };
  }

  @ApiOperation({ summary: 'Get a job' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: JobDto })
  @ApiProblems(400, 404)
  async getJob(@Param('id', new ParseUUIDPipe()) id: string): Promise<JobDto> {
    return toJobDto(await this.jobs.get(id));
  }

  /** Cancels a queued job at once; a running job stops at its next progress report. */
  @ApiOperation({ summary: 'Cancel a job' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: JobDto })
  @ApiProblems(400, 404, 409)
  async cancelJob(@Param('id', new ParseUUIDPipe()) id: string): Promise<JobDto> {
    return toJobDto(await this.jobs.cancel(id));
  }
}
