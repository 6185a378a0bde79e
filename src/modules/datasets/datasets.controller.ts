import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ServiceError } from '../../core/service-error';
import { ApiProblems } from '../../http/api-problems.decorator';
import { receiveFileUpload } from '../../http/file-upload';
import { decodeCursor, page } from '../../http/pagination';
import type { DatasetRecord } from './dataset.types';
import { toDatasetDto } from './dataset.mapper';
import { DatasetsService } from './datasets.service';
import { CreateDatasetDto, DatasetDto, DatasetPageDto, ListDatasetsQueryDto, UploadDatasetDto } from './dto/dataset.dto';

const LOCATION = { Location: { description: 'The stored dataset', schema: { type: 'string' } } };

@ApiTags('datasets')
@ApiBearerAuth()
@Controller('v1/datasets')
export class DatasetsController {
  constructor(private readonly datasets: DatasetsService) {}

  /** Stores a builtin dataset (JSON `{"builtin": "fashion-mnist"}`), decoded in a worker thread. */
  @ApiOperation({ summary: 'Store a builtin dataset (JSON)' })
  @Post()
  @ApiConsumes('application/json')
  @ApiBody({ type: CreateDatasetDto })
  @ApiCreatedResponse({ type: DatasetDto, headers: LOCATION })
  @ApiProblems(400, 404, 415, 503)
  async createDataset(@Body() body: CreateDatasetDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<DatasetDto> {
    if (!req.is('application/json')) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send application/json ({"builtin": "fashion-mnist"}), or upload a file to POST /v1/datasets/upload');
    return this.created(await this.datasets.createBuiltin(body), res);
  }

  /** Stores an uploaded dataset safetensors file or image-folder archive (multipart field `file`). */
  @ApiOperation({ summary: 'Upload a dataset file or image-folder archive (multipart)' })
  @Post('upload')
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadDatasetDto })
  @ApiCreatedResponse({ type: DatasetDto, headers: LOCATION })
  @ApiProblems(400, 413, 415, 422)
  async uploadDataset(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<DatasetDto> {
    if (!req.is('multipart/form-data')) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data with the dataset file or archive in the field `file`');
    const { file, fields } = await receiveFileUpload(
      req,
      { stage: (s) => this.datasets.spoolUpload(s), discard: (f) => this.datasets.discardUpload(f) },
      { maxFieldBytes: 4096, maxFields: 10 },
    );
    if (!file) throw new ServiceError('FILE_MISSING', 'no file: send the dataset file or archive in the multipart field `file`');
    return this.created(await this.datasets.upload({ file: file.stored, filename: file.filename, fields }), res);
  }

  @ApiOperation({ summary: 'List datasets' })
  @Get()
  @ApiOkResponse({ type: DatasetPageDto })
  @ApiProblems(400)
  async listDatasets(@Query() query: ListDatasetsQueryDto): Promise<DatasetPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.datasets.list({ name: query.name, source: query.source }, limit + 1, decodeCursor(query.cursor));
    const { items, nextCursor } = page(rows, limit);
    return { items: items.map(toDatasetDto), nextCursor };
  }

  @ApiOperation({ summary: 'Get a dataset' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get(':id')
  @ApiOkResponse({ type: DatasetDto })
  @ApiProblems(400, 404)
  async getDataset(@Param('id', new ParseUUIDPipe()) id: string): Promise<DatasetDto> {
    return toDatasetDto(await this.datasets.get(id));
  }

  /** Deletes the dataset (and its bytes when nothing else records them); 409 while an evaluation or training uses it. */
  @ApiOperation({ summary: 'Delete a dataset' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404, 409)
  async deleteDataset(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.datasets.delete(id);
  }

  private created(dataset: DatasetRecord, res: Response): DatasetDto {
    res.setHeader('Location', `/v1/datasets/${dataset.id}`);
    return toDatasetDto(dataset);
  }
}
