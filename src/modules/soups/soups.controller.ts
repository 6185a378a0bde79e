import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblems } from '../../http/api-problems.decorator';
import { decodeCursor, page } from '../../http/pagination';
import { CreateSoupDto, ListSoupsQueryDto, SoupDto, SoupPageDto } from './dto/soup.dto';
import { toSoupDto } from './soup.mapper';
import { SoupsService } from './soups.service';

@ApiTags('soups')
@ApiBearerAuth()
@Controller('v1/soups')
export class SoupsController {
  constructor(private readonly soups: SoupsService) {}

  /**
   * Averages or merges checkpoints as a job; the result is a checkpoint of kind `soup` whose
   * parents are the ingredients and the base. Everything that can be checked first is: ingredients
   * (404 CHECKPOINT_NOT_FOUND; 422 SOUP_INGREDIENTS_EMPTY, SOUP_INGREDIENTS_INCOMPATIBLE), weights
   * and parameters (422 SOUP_WEIGHTS_INVALID, SOUP_PARAMETERS_INVALID), a recipe (422
   * SOUP_RECIPE_INVALID), the dataset (422 SOUP_DATASET_REQUIRED, DATASET_MODEL_MISMATCH) and the
   * BatchNorm policy (422 SOUP_BATCHNORM_UNSUPPORTED); a refused request stores nothing.
   */
  @ApiOperation({ summary: 'Make a soup or merge (job)' })
  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ type: SoupDto, headers: { Location: { description: 'The soup', schema: { type: 'string' } } } })
  @ApiProblems(400, 404, 422)
  async createSoup(@Body() body: CreateSoupDto, @Res({ passthrough: true }) res: Response): Promise<SoupDto> {
    const view = await this.soups.create({ ...body, options: body.options ? { ...body.options } : undefined });
    res.setHeader('Location', `/v1/soups/${view.soup.id}`);
    return toSoupDto(view);
  }

  @ApiOperation({ summary: 'List soups' })
  @Get()
  @ApiOkResponse({ type: SoupPageDto })
  @ApiProblems(400)
  async listSoups(@Query() query: ListSoupsQueryDto): Promise<SoupPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.soups.list({ checkpointId: query.checkpointId, method: query.method }, limit + 1, decodeCursor(query.cursor));
    const { items, nextCursor } = page(rows.map((v) => ({ ...v, id: v.soup.id, createdAt: v.soup.createdAt })), limit);
    return { items: items.map(toSoupDto), nextCursor };
  }

  @ApiOperation({ summary: 'Get a soup: status, report and result' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: SoupDto })
  @ApiProblems(400, 404)
  async getSoup(@Param('id', new ParseUUIDPipe()) id: string): Promise<SoupDto> {
    return toSoupDto(await this.soups.get(id));
  }

  /** Stops the job; nothing is stored. */
  @ApiOperation({ summary: 'Cancel a soup' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: SoupDto })
  @ApiProblems(400, 404, 409)
  async cancelSoup(@Param('id', new ParseUUIDPipe()) id: string): Promise<SoupDto> {
    return toSoupDto(await this.soups.cancel(id));
  }
}
