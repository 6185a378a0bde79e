import { Body, Controller, Delete, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
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
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiProblems } from '../../http/api-problems.decorator';
import { receiveFileUpload } from '../../http/file-upload';
import { decodeCursor, page } from '../../http/pagination';
import { ServiceError } from '../../core/service-error';
import { toArchitectureDto } from './architecture.mapper';
import { ArchitecturesService, type CreatedArchitecture } from './architectures.service';
import {
  ArchitectureDto,
  ArchitecturePageDto,
  CreateArchitectureDto,
  GhnGraphQueryDto,
  ListArchitecturesQueryDto,
  UploadArchitectureDto,
} from './dto/architecture.dto';
import { GhnGraphJsonDto, GraphJsonDto } from './dto/graph-json.dto';

const LOCATION = { Location: { description: 'The stored architecture', schema: { type: 'string' } } };

@ApiTags('architectures')
@ApiBearerAuth()
@Controller('v1/architectures')
export class ArchitecturesController {
  constructor(private readonly architectures: ArchitecturesService) {}

  /**
   * Stores an architecture from the zoo, a canonical graph or a GHN graph (JSON body). Identical
   * graphs are stored once: posting one again returns the existing architecture with 200. Files
   * (ONNX models, graph JSON past the body limit) go to POST /v1/architectures/upload; a multipart
   * body sent here is still accepted, as before that route existed.
   */
  @ApiOperation({ summary: 'Store an architecture from the zoo or a graph (JSON)' })
  @Post()
  @ApiConsumes('application/json')
  @ApiBody({ type: CreateArchitectureDto })
  @ApiCreatedResponse({ type: ArchitectureDto, description: 'Stored', headers: LOCATION })
  @ApiOkResponse({ type: ArchitectureDto, description: 'An identical architecture already existed; it is returned' })
  @ApiProblems(400, 404, 413, 415, 422)
  async createArchitecture(@Body() body: CreateArchitectureDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<ArchitectureDto> {
    const kind = req.is(['application/json', 'multipart/form-data']);
    if (kind === false) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send application/json ({"zoo"}, {"graph"} or {"ghnGraph"}), or upload a file to POST /v1/architectures/upload');
    return this.answer(kind === 'multipart/form-data' ? await this.createFromUpload(req) : await this.architectures.create(body), res);
  }

  /**
   * Stores an architecture from an uploaded file (multipart field `file`): an ONNX model or a
   * canonical or GHN graph JSON. Identical graphs are stored once (200 with the existing one).
   */
  @ApiOperation({ summary: 'Store an architecture from an ONNX model or graph file (multipart)' })
  @Post('upload')
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadArchitectureDto })
  @ApiCreatedResponse({ type: ArchitectureDto, description: 'Stored', headers: LOCATION })
  @ApiOkResponse({ type: ArchitectureDto, description: 'An identical architecture already existed; it is returned' })
  @ApiProblems(400, 413, 415, 422)
  async uploadArchitecture(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<ArchitectureDto> {
    if (!req.is('multipart/form-data')) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data with the ONNX model or graph JSON in the field `file`');
    return this.answer(await this.createFromUpload(req), res);
  }

  @ApiOperation({ summary: 'List architectures' })
  @Get()
  @ApiOkResponse({ type: ArchitecturePageDto })
  @ApiProblems(400)
  async listArchitectures(@Query() query: ListArchitecturesQueryDto): Promise<ArchitecturePageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.architectures.list({ name: query.name, family: query.family, source: query.source }, limit + 1, decodeCursor(query.cursor));
    const { items, nextCursor } = page(rows, limit);
    return { items: items.map(toArchitectureDto), nextCursor };
  }

  @ApiOperation({ summary: 'Get an architecture' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: ArchitectureDto })
  @ApiProblems(400, 404)
  async getArchitecture(@Param('id', new ParseUUIDPipe()) id: string): Promise<ArchitectureDto> {
    return toArchitectureDto(await this.architectures.get(id));
  }

  /** The canonical graph document (weightsmith.graph/v1); 409 for a GHN-graph-only architecture. */
  @ApiOperation({ summary: 'Get the canonical graph of an architecture' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id/graph')
  @ApiOkResponse({ type: GraphJsonDto })
  @ApiProblems(400, 404, 409)
  async getArchitectureGraph(@Param('id', new ParseUUIDPipe()) id: string): Promise<GraphJsonDto> {
    return this.architectures.graph(id);
  }

  /** The graph a GHN consumes, built by the official rules of `builder`, in the fixtures' JSON layout. */
  @ApiOperation({ summary: 'Get the graph a GHN reads for an architecture' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id/ghn-graph')
  @ApiOkResponse({ type: GhnGraphJsonDto })
  @ApiProblems(400, 404, 409, 422)
  async getArchitectureGhnGraph(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: GhnGraphQueryDto): Promise<GhnGraphJsonDto> {
    return this.architectures.ghnGraph(id, query.builder);
  }

  /** A picture of the graph laid out by Graphviz; 409 for a GHN-graph-only architecture. */
  @ApiOperation({ summary: 'Draw the graph of an architecture (SVG)' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id/graph.svg')
  @Header('Content-Type', 'image/svg+xml')
  @ApiProduces('image/svg+xml')
  @ApiOkResponse({ description: 'SVG document', content: { 'image/svg+xml': { schema: { type: 'string' } } } })
  @ApiProblems(400, 404, 409, 422)
  async getArchitectureGraphSvg(@Param('id', new ParseUUIDPipe()) id: string): Promise<string> {
    return this.architectures.svg(id);
  }

  /** Deletes the architecture; 409 while a checkpoint references it. */
  @ApiOperation({ summary: 'Delete an architecture' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404, 409)
  async deleteArchitecture(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.architectures.delete(id);
  }

  private answer(result: CreatedArchitecture, res: Response): ArchitectureDto {
    res.status(result.created ? 201 : 200);
    if (result.created) res.setHeader('Location', `/v1/architectures/${result.architecture.id}`);
    return toArchitectureDto(result.architecture);
  }

  /** Multipart: the file is spooled as it arrives and handed to the service with the form's fields. */
  private async createFromUpload(req: Request): Promise<CreatedArchitecture> {
    const { file, fields } = await receiveFileUpload(
      req,
      { stage: (s) => this.architectures.spoolUpload(s), discard: (f) => this.architectures.discardUpload(f) },
      { maxFieldBytes: 4096, maxFields: 4 },
    );
    if (!file) throw new ServiceError('FILE_MISSING', 'no file: send the ONNX model or graph JSON in the multipart field `file`');
    return this.architectures.createFromUpload({ file: file.stored, filename: file.filename, fields });
  }
}
