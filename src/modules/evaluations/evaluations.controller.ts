import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblems } from '../../http/api-problems.decorator';
import { decodeCursor, encodeCursor } from '../../http/pagination';
import { toEvaluationDto } from './evaluation.mapper';
import { EvaluationsService } from './evaluations.service';
import { CreateEvaluationDto, EvaluationDto, EvaluationPageDto, ListEvaluationsQueryDto } from './dto/evaluation.dto';

@ApiTags('evaluations')
@ApiBearerAuth()
@Controller('v1/evaluations')
export class EvaluationsController {
  constructor(private readonly evaluations: EvaluationsService) {}

  /** Checks the request, stores the evaluation and starts its job (202); poll GET /v1/evaluations/:id. */
  @ApiOperation({ summary: 'Evaluate checkpoints on a dataset split (job)' })
  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ type: EvaluationDto, headers: { Location: { description: 'The evaluation', schema: { type: 'string' } } } })
  @ApiProblems(400, 404, 409, 422)
  async createEvaluation(@Body() body: CreateEvaluationDto, @Res({ passthrough: true }) res: Response): Promise<EvaluationDto> {
    const view = await this.evaluations.create({ checkpointIds: body.checkpointIds, datasetId: body.datasetId, split: body.split, batchNorm: body.batchNorm, options: { ...body.options } });
    res.setHeader('Location', `/v1/evaluations/${view.evaluation.id}`);
    return toEvaluationDto(view);
  }

  @ApiOperation({ summary: 'List evaluations' })
  @Get()
  @ApiOkResponse({ type: EvaluationPageDto })
  @ApiProblems(400)
  async listEvaluations(@Query() query: ListEvaluationsQueryDto): Promise<EvaluationPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.evaluations.list({ checkpointId: query.checkpointId, datasetId: query.datasetId }, limit + 1, decodeCursor(query.cursor));
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items: items.map(toEvaluationDto), nextCursor: rows.length > limit && last ? encodeCursor(last.evaluation) : null };
  }

  @ApiOperation({ summary: 'Get an evaluation (status and results)' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: EvaluationDto })
  @ApiProblems(400, 404)
  async getEvaluation(@Param('id', new ParseUUIDPipe()) id: string): Promise<EvaluationDto> {
    return toEvaluationDto(await this.evaluations.get(id));
  }

  /** Deletes a finished evaluation and its results (its dataset can then be deleted); 409 while its job runs. */
  @ApiOperation({ summary: 'Delete an evaluation' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404, 409)
  async deleteEvaluation(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.evaluations.delete(id);
  }
}
