import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiConsumes, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiProblems } from '../../http/api-problems.decorator';
import { receiveFileUpload } from '../../http/file-upload';
import { decodeCursor, page } from '../../http/pagination';
import { ServiceError } from '../../core/service-error';
import { JobDto } from '../jobs/dto/job.dto';
import { toJobDto } from '../jobs/job.mapper';
import { toCheckpointDetailDto, toCheckpointDto } from './checkpoint.mapper';
import { CheckpointReader } from './checkpoint-reader';
import { CheckpointsService } from './checkpoints.service';
import { CheckpointDetailDto, CheckpointPageDto, LineageNodeDto, LineageQueryDto, ListCheckpointsQueryDto, UploadCheckpointDto } from './dto/checkpoint.dto';

@ApiTags('checkpoints')
@ApiBearerAuth()
@Controller('v1/checkpoints')
export class CheckpointsController {
  constructor(
    private readonly checkpoints: CheckpointsService,
    private readonly reader: CheckpointReader,
  ) {}

  /** Uploads a checkpoint (multipart field `file`), streamed to the blob store and validated. */
  @ApiOperation({ summary: 'Upload a checkpoint (multipart)' })
  @Post()
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadCheckpointDto })
  @ApiCreatedResponse({ type: CheckpointDetailDto })
  @ApiProblems(400, 404, 413, 415, 422)
  async createCheckpoint(@Req() req: Request): Promise<CheckpointDetailDto> {
    const { file, fields } = await receiveFileUpload(req, { stage: (s) => this.checkpoints.stageUpload(s), discard: (f) => this.checkpoints.discardStaged(f) });
    if (!file) throw new ServiceError('FILE_MISSING', 'no file: send the checkpoint bytes in the multipart field `file`');
    const { checkpoint } = await this.checkpoints.upload({ file: file.stored, filename: file.filename, fields });
    return toCheckpointDetailDto(checkpoint);
  }

  @ApiOperation({ summary: 'List checkpoints' })
  @Get()
  @ApiOkResponse({ type: CheckpointPageDto })
  @ApiProblems(400)
  async listCheckpoints(@Query() query: ListCheckpointsQueryDto): Promise<CheckpointPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.checkpoints.list({ tag: query.tag, architectureId: query.architectureId, name: query.name, kind: query.kind }, limit + 1, decodeCursor(query.cursor));
    const { items, nextCursor } = page(rows, limit);
    return { items: items.map(toCheckpointDto), nextCursor };
  }

  @ApiOperation({ summary: 'Get a checkpoint' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: CheckpointDetailDto })
  @ApiProblems(400, 404)
  async getCheckpoint(@Param('id', new ParseUUIDPipe()) id: string): Promise<CheckpointDetailDto> {
    return toCheckpointDetailDto(await this.checkpoints.get(id));
  }

  /** The tree of what the checkpoint was made from: a soup's ingredients and base, their own parents, and so on. */
  @ApiOperation({ summary: 'Get the lineage of a checkpoint (tree of parents)' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id/lineage')
  @ApiOkResponse({ type: LineageNodeDto })
  @ApiProblems(400, 404)
  async getCheckpointLineage(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: LineageQueryDto): Promise<LineageNodeDto> {
    return this.checkpoints.lineage(id, query.depth);
  }

  /** Deletes the checkpoint (and its bytes when nothing else shares them); 409 while referenced. */
  @ApiOperation({ summary: 'Delete a checkpoint' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404, 409)
  async deleteCheckpoint(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.checkpoints.delete(id);
  }

  /** Starts a job computing statistics of every tensor; poll the job for the result. */
  @ApiOperation({ summary: 'Compute statistics of every tensor (job)' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Post(':id/statistics')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: JobDto, headers: { Location: { description: 'The job', schema: { type: 'string' } } } })
  @ApiProblems(400, 404)
  async startCheckpointStatistics(@Param('id', new ParseUUIDPipe()) id: string, @Res({ passthrough: true }) res: Response): Promise<JobDto> {
    const job = await this.reader.startStatisticsJob(id);
    res.setHeader('Location', `/v1/jobs/${job.id}`);
    return toJobDto(job);
  }
}
