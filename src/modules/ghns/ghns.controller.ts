import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiProblems } from '../../http/api-problems.decorator';
import { receiveFileUpload } from '../../http/file-upload';
import { decodeCursor, page } from '../../http/pagination';
import { ServiceError } from '../../core/service-error';
import { GhnDto, GhnPageDto, ListGhnsQueryDto, UploadGhnDto } from './dto/ghn.dto';
import { toGhnDto } from './ghn.mapper';
import { GhnsService } from './ghns.service';

@ApiTags('ghns')
@ApiBearerAuth()
@Controller('v1/ghns')
export class GhnsController {
  constructor(private readonly ghns: GhnsService) {}

  /**
   * Registers a GHN from an official checkpoint (multipart field `file`), stored as a checkpoint of
   * kind `ghn`; the optional `config` JSON is a text field or a file part of at most 256 KiB. 422 GHN_INVALID when its config (given, stored in the file, or inferred) does not
   * describe exactly its tensors; 409 GHN_NAME_TAKEN for a name in use. Nothing is stored on failure.
   */
  @ApiOperation({ summary: 'Upload a graph hypernetwork (multipart)' })
  @Post()
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadGhnDto })
  @ApiCreatedResponse({ type: GhnDto, headers: { Location: { description: 'The stored GHN', schema: { type: 'string' } } } })
  @ApiProblems(400, 409, 413, 415, 422)
  async createGhn(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<GhnDto> {
    // `config` may be a text field or a small file part (`-F config=@ghn.json`), read the same way.
    const { file, fields } = await receiveFileUpload(
      req,
      { stage: (s) => this.ghns.stageUpload(s), discard: (f) => this.ghns.discardUpload(f) },
      { textFileFields: ['config'] },
    );
    if (!file) throw new ServiceError('FILE_MISSING', 'no file: send the GHN checkpoint in the multipart field `file`');
    const ghn = await this.ghns.upload({ file: file.stored, filename: file.filename, fields });
    res.setHeader('Location', `/v1/ghns/${ghn.id}`);
    return toGhnDto(ghn, await this.ghns.defaultId());
  }

  @ApiOperation({ summary: 'List graph hypernetworks' })
  @Get()
  @ApiOkResponse({ type: GhnPageDto })
  @ApiProblems(400)
  async listGhns(@Query() query: ListGhnsQueryDto): Promise<GhnPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.ghns.list({ name: query.name }, limit + 1, decodeCursor(query.cursor));
    const { items, nextCursor } = page(rows, limit);
    const defaultId = await this.ghns.defaultId();
    return { items: items.map((g) => toGhnDto(g, defaultId)), nextCursor };
  }

  /** The GHN used when a request names none: WEIGHTSMITH_DEFAULT_GHN, else the most recent one. */
  @ApiOperation({ summary: 'Get the default graph hypernetwork' })
  @Get('default')
  @ApiOkResponse({ type: GhnDto })
  @ApiProblems(404)
  async getDefaultGhn(): Promise<GhnDto> {
    const ghn = await this.ghns.getDefault();
    return toGhnDto(ghn, ghn.id);
  }

  @ApiOperation({ summary: 'Get a graph hypernetwork' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: GhnDto })
  @ApiProblems(400, 404)
  async getGhn(@Param('id', new ParseUUIDPipe()) id: string): Promise<GhnDto> {
    return toGhnDto(await this.ghns.get(id), await this.ghns.defaultId());
  }

  /** Deletes the GHN and its weights' checkpoint; 409 GHN_IN_USE while an initialization references it. */
  @ApiOperation({ summary: 'Delete a graph hypernetwork' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404, 409)
  async deleteGhn(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.ghns.delete(id);
  }
}
