import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Query, Req, Res, StreamableFile } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ServiceError } from '../../core/service-error';
import { ApiProblems } from '../../http/api-problems.decorator';
import { decodeCursor, page } from '../../http/pagination';
import { streamFailureHandler } from '../../http/problem-details.filter';
import { CreatePopulationDto, ListPopulationsQueryDto, MAX_POPULATION_INT, PopulationDto, PopulationPageDto } from './dto/population.dto';
import { toPopulationDto } from './population.mapper';
import { PopulationsService, type PopulationResult } from './populations.service';

const BINARY = { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
const text = (description: string) => ({ description, schema: { type: 'string' } });
const SNAPSHOT_HEADERS = {
  'Weightsmith-Population-Snapshot': text('The member versions the answer was computed from: `k:version:step`, comma-separated, by k'),
  'Weightsmith-Population-Pull': text('What was applied: papa, papa-all, papa-2, or none (a step off the schedule, α = 1, a lone member)'),
};

/** A non-negative integer path or query value (400 VALIDATION_FAILED otherwise). */
function integerField(value: string | undefined, field: string): number {
  const n = value !== undefined && /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > MAX_POPULATION_INT) throw new ServiceError('VALIDATION_FAILED', `${field} must be an integer in [0, ${MAX_POPULATION_INT}]`, { field });
  return n;
}

@ApiTags('populations')
@ApiBearerAuth()
@Controller('v1/populations')
export class PopulationsController {
  constructor(private readonly populations: PopulationsService) {}

  /** Creates a population whose members train elsewhere and push their weights (PAPA, PAPA-all or PAPA-2). */
  @ApiOperation({ summary: 'Create a population (coordinated)' })
  @Post()
  @ApiCreatedResponse({ type: PopulationDto })
  @ApiProblems(400, 404, 422)
  async createPopulation(@Body() body: CreatePopulationDto): Promise<PopulationDto> {
    const { mode: _mode, ...input } = body;
    return toPopulationDto(await this.populations.create(input));
  }

  @ApiOperation({ summary: 'List populations' })
  @Get()
  @ApiOkResponse({ type: PopulationPageDto })
  @ApiProblems(400)
  async listPopulations(@Query() query: ListPopulationsQueryDto): Promise<PopulationPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.populations.list(limit + 1, decodeCursor(query.cursor));
    const { items, nextCursor } = page(rows.map((v) => ({ ...v, id: v.population.id, createdAt: v.population.createdAt })), limit);
    return { items: items.map(toPopulationDto), nextCursor };
  }

  /** The population's settings, its members (step, last push, active or stale) and warnings. */
  @ApiOperation({ summary: 'Get a population: members and warnings' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: PopulationDto })
  @ApiProblems(400, 404)
  async getPopulation(@Param('id', new ParseUUIDPipe()) id: string): Promise<PopulationDto> {
    return toPopulationDto(await this.populations.view(id));
  }

  /** Deletes the population, its members' weights included (a pull being computed fails). */
  @ApiOperation({ summary: 'Delete a population' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404)
  async deletePopulation(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.populations.delete(id);
  }

  /**
   * Member k pushes its weights (safetensors, application/octet-stream) at `step` and gets its
   * pulled weights back, computed from one snapshot of the latest weights of the active members
   * (this push included). The first push sets the population's tensor layout; later pushes must
   * match it (422 POPULATION_LAYOUT_MISMATCH). Nothing is stored when a push is refused.
   */
  @ApiOperation({ summary: "Push a member's weights and get them pulled" })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiParam({ name: 'k', schema: { type: 'integer', minimum: 0 } })
  @ApiQuery({ name: 'step', required: true, schema: { type: 'integer', minimum: 0 }, description: "The member's optimizer step (the pull schedule uses it)" })
  @Put(':id/members/:k')
  @HttpCode(200)
  @ApiConsumes('application/octet-stream')
  @ApiBody({ schema: { type: 'string', format: 'binary' }, description: 'The member weights (safetensors)' })
  @ApiProduces('application/octet-stream')
  @ApiResponse({
    status: 200,
    description: 'The pulled weights (safetensors)',
    content: BINARY,
    headers: { ...SNAPSHOT_HEADERS, 'Weightsmith-Population-Version': text('The version this push was given') },
  })
  @ApiProblems(400, 404, 413, 415, 422)
  async pushPopulationMember(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('k') kParam: string,
    @Query('step') stepParam: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile> {
    const k = integerField(kParam, 'k');
    const step = integerField(stepParam, 'step');
    if (!req.is('application/octet-stream')) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send the member weights as safetensors bytes with Content-Type: application/octet-stream');
    await this.populations.checkMember(id, k);
    const file = await this.populations.spoolUpload(req);
    const result = await this.populations.push({ id, k, step, file });
    res.setHeader('Weightsmith-Population-Version', String(result.version));
    return this.send(result, res);
  }

  /** The mean of the active members' latest weights (safetensors). */
  @ApiOperation({ summary: 'Download the average of the active members' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id/average')
  @ApiProduces('application/octet-stream')
  @ApiResponse({ status: 200, description: 'The mean weights (safetensors)', content: BINARY, headers: SNAPSHOT_HEADERS })
  @ApiProblems(400, 404, 409)
  async downloadPopulationAverage(@Param('id', new ParseUUIDPipe()) id: string, @Res({ passthrough: true }) res: Response): Promise<StreamableFile> {
    return this.send(await this.populations.average(id), res);
  }

  private send(result: PopulationResult, res: Response): StreamableFile {
    res.setHeader('Weightsmith-Population-Snapshot', result.snapshot.map((m) => `${m.k}:${m.version}:${m.step}`).join(','));
    res.setHeader('Weightsmith-Population-Pull', result.applied);
    const stream = this.populations.openResult(result);
    return new StreamableFile(stream, { type: 'application/octet-stream', length: result.file.size }).setErrorHandler(streamFailureHandler(stream));
  }
}
