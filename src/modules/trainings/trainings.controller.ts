import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblems } from '../../http/api-problems.decorator';
import { decodeCursor, page } from '../../http/pagination';
import { CreateTrainingDto, ListTrainingsQueryDto, TrainingDto, TrainingPageDto } from './dto/training.dto';
import { toTrainingDto } from './training.mapper';
import { TrainingsService } from './trainings.service';

@ApiTags('trainings')
@ApiBearerAuth()
@Controller('v1/trainings')
export class TrainingsController {
  constructor(private readonly trainings: TrainingsService) {}

  /**
   * Trains a checkpoint (or a fresh initialization) on a dataset's train split, as a job. Everything
   * that can be checked first is: the options (422 TRAINING_OPTIONS_INVALID), that the data fits the
   * model (422 TRAINING_DATA_MISMATCH), that every op of the graph trains (422 GRAPH_UNKNOWN_OP).
   * Follow it with GET /v1/trainings/{id}: live progress (epoch, step, loss, accuracy, images/s) and
   * the learning curve. A run whose process died resumes from its last saved state on the
   * trajectory it was on; cancelling it removes everything it stored.
   */
  @ApiOperation({ summary: 'Start a training' })
  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ type: TrainingDto, headers: { Location: { description: 'The training', schema: { type: 'string' } } } })
  @ApiProblems(400, 404, 409, 422)
  async createTraining(@Body() body: CreateTrainingDto, @Res({ passthrough: true }) res: Response): Promise<TrainingDto> {
    const { name, start, datasetId, evaluateEvery, saveEvery, evaluationSplit, ...options } = body;
    const view = await this.trainings.create({ name, start, datasetId, evaluateEvery, saveEvery, evaluationSplit, options: dropUndefined(options) });
    res.setHeader('Location', `/v1/trainings/${view.training.id}`);
    return toTrainingDto(view);
  }

  @ApiOperation({ summary: 'List trainings' })
  @Get()
  @ApiOkResponse({ type: TrainingPageDto })
  @ApiProblems(400)
  async listTrainings(@Query() query: ListTrainingsQueryDto): Promise<TrainingPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.trainings.list({ datasetId: query.datasetId, startCheckpointId: query.startCheckpointId }, limit + 1, decodeCursor(query.cursor));
    const { items, nextCursor } = page(rows.map((v) => ({ ...v, id: v.training.id, createdAt: v.training.createdAt })), limit);
    return { items: items.map(toTrainingDto), nextCursor };
  }

  @ApiOperation({ summary: 'Get a training: status, progress and learning curve' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: TrainingDto })
  @ApiProblems(400, 404)
  async getTraining(@Param('id', new ParseUUIDPipe()) id: string): Promise<TrainingDto> {
    return toTrainingDto(await this.trainings.get(id));
  }

  /** Stops the run at once; everything it stored (saved models, its state) is removed. */
  @ApiOperation({ summary: 'Cancel a training' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: TrainingDto })
  @ApiProblems(400, 404, 409)
  async cancelTraining(@Param('id', new ParseUUIDPipe()) id: string): Promise<TrainingDto> {
    return toTrainingDto(await this.trainings.cancel(id));
  }

  /** Deletes a finished training's record; the checkpoints it saved stay. */
  @ApiOperation({ summary: 'Delete a training record' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiProblems(400, 404, 409)
  async deleteTraining(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.trainings.delete(id);
  }
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
