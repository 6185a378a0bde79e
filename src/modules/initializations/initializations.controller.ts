import { Body, Controller, Get, Headers, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblems } from '../../http/api-problems.decorator';
import { decodeCursor, page } from '../../http/pagination';
import { CreateInitializationDto, InitializationDto, InitializationPageDto, ListInitializationsQueryDto } from './dto/initialization.dto';
import { toInitializationDto } from './initialization.mapper';
import { InitializationsService, type InitializationOutcome } from './initializations.service';

const STATUS_OF: Record<InitializationOutcome, number> = { reused: 200, computed: 201, queued: 202 };

/** Response header telling whether a stored result was reused (`hit`) or computed (`miss`). */
export const CACHE_HEADER = 'x-weightsmith-cache';
const CACHE = { [CACHE_HEADER]: { description: '`hit`: a stored result was reused; `miss`: computed now or queued', schema: { type: 'string', enum: ['hit', 'miss'] } } };

@ApiTags('initializations')
@ApiBearerAuth()
@Controller('v1/initializations')
export class InitializationsController {
  constructor(private readonly initializations: InitializationsService) {}

  /**
   * Initial parameters for an architecture, stored as a checkpoint (kind `initialization`) with
   * PyTorch state_dict names. The same architecture, GHN weights, method and options give the same
   * checkpoint without recomputation (200, `cached: true`). Work estimated at most 10 s
   * (WEIGHTSMITH_INLINE_WORK_SECONDS) is computed now (201); longer work, or with
   * `Prefer: respond-async`, by a job (202, Location: the job; cancelling the job stores nothing).
   * A GHN whose graph builder cannot represent the architecture is refused at once (422
   * GHN_GRAPH_UNSUPPORTED). BatchNorm
   * running statistics are never predicted: they are running_mean 0, running_var 1,
   * num_batches_tracked 0, as in a freshly constructed torch model.
   */
  @ApiOperation({ summary: 'Initialize the parameters of an architecture' })
  @Post()
  @ApiHeader({ name: 'Prefer', required: false, description: '`respond-async` to have a job compute it (202) whatever its size' })
  @ApiOkResponse({ type: InitializationDto, description: 'An identical initialization existed: its checkpoint is returned, nothing was computed', headers: { ...CACHE } })
  @ApiCreatedResponse({ type: InitializationDto, description: 'Computed and stored', headers: { ...CACHE, Location: { description: 'The initialization', schema: { type: 'string' } } } })
  @ApiAcceptedResponse({
    type: InitializationDto,
    description: 'A job computes it: poll the job (Location) or GET /v1/initializations/{id}',
    headers: { ...CACHE, Location: { description: 'The job computing it', schema: { type: 'string' } } },
  })
  @ApiProblems(400, 404, 409, 422)
  async createInitialization(
    @Body() body: CreateInitializationDto,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<InitializationDto> {
    const preferAsync = (prefer ?? '').split(',').some((p) => p.trim().toLowerCase() === 'respond-async');
    const { view, outcome } = await this.initializations.create(body, { preferAsync });
    const httpStatus = STATUS_OF[outcome];
    res.status(httpStatus);
    res.setHeader(CACHE_HEADER, view.cached ? 'hit' : 'miss');
    const jobId = view.initialization.jobId;
    if (httpStatus === 202 && jobId) res.setHeader('Location', `/v1/jobs/${jobId}`);
    else if (httpStatus === 201) res.setHeader('Location', `/v1/initializations/${view.initialization.id}`);
    return toInitializationDto(view);
  }

  @ApiOperation({ summary: 'List initializations' })
  @Get()
  @ApiOkResponse({ type: InitializationPageDto })
  @ApiProblems(400)
  async listInitializations(@Query() query: ListInitializationsQueryDto): Promise<InitializationPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.initializations.list({ architectureId: query.architectureId, method: query.method }, limit + 1, decodeCursor(query.cursor));
    const { items, nextCursor } = page(rows, limit);
    return { items: (await this.initializations.views(items)).map(toInitializationDto), nextCursor };
  }

  @ApiOperation({ summary: 'Get an initialization' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: InitializationDto })
  @ApiProblems(400, 404)
  async getInitialization(@Param('id', new ParseUUIDPipe()) id: string): Promise<InitializationDto> {
    return toInitializationDto(await this.initializations.get(id));
  }
}
