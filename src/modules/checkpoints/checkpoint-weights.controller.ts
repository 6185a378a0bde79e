import { Controller, Get, Head, Headers, Param, ParseUUIDPipe, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblems } from '../../http/api-problems.decorator';
import { ifRangeAllowsPart, matchesIfNoneMatch, parseRange } from '../../http/byte-range';
import { streamFailureHandler } from '../../http/problem-details.filter';
import { ServiceError } from '../../core/service-error';
import type { Checkpoint } from './checkpoint.types';
import { CheckpointReader } from './checkpoint-reader';
import { CheckpointsService } from './checkpoints.service';
import { TensorStatisticsDto } from './dto/checkpoint.dto';

const BINARY = { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
const text = (description: string) => ({ description, schema: { type: 'string' } });
/** The headers every weights answer carries (304 included). */
const CACHING = {
  ETag: text('The sha256 of the safetensors bytes (quoted); `"<sha256>.onnx"` for the ONNX export'),
  'Cache-Control': text('The bytes of a checkpoint never change'),
};
const NOT_MODIFIED = {
  ...CACHING,
  'Accept-Ranges': text('`bytes` (safetensors only)'),
  'Content-Disposition': text('attachment; filename="<name>.safetensors" (or .onnx)'),
};
const BYTES = { ...NOT_MODIFIED, 'Content-Length': { description: 'Bytes in the body', schema: { type: 'integer', format: 'int64' } } };

/** Formats GET weights can answer in. */
const WEIGHT_FORMATS = ['safetensors', 'onnx'] as const;

@ApiTags('checkpoints')
@ApiBearerAuth()
@Controller('v1/checkpoints/:id')
export class CheckpointWeightsController {
  constructor(
    private readonly checkpoints: CheckpointsService,
    private readonly reader: CheckpointReader,
  ) {}

  /**
   * Downloads the safetensors bytes; supports ETag/If-None-Match, a single Range and If-Range
   * (several ranges, another unit or a stale If-Range get the whole file). With `?format=onnx`:
   * the checkpoint's architecture as an ONNX model with these weights embedded (no Range; 409
   * without an executable architecture, 422 when the weights do not fit it).
   */
  @ApiOperation({ summary: 'Download the weights of a checkpoint' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get('weights')
  @ApiProduces('application/octet-stream')
  @ApiQuery({ name: 'format', required: false, enum: WEIGHT_FORMATS, description: 'safetensors (default) or onnx (the architecture graph with the weights embedded)' })
  @ApiHeader({ name: 'Range', required: false, description: 'bytes=start-end, bytes=start- or bytes=-suffix (one range; anything else gets the whole file)' })
  @ApiHeader({ name: 'If-Range', required: false, description: 'ETag from an earlier download: the range is sent only if it still matches, else the whole file' })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'ETag (the sha256) from an earlier download' })
  @ApiResponse({ status: 200, description: 'The whole file', content: BINARY, headers: BYTES })
  @ApiResponse({
    status: 206,
    description: 'The requested range',
    content: BINARY,
    headers: { ...BYTES, 'Content-Range': text('bytes <first>-<last>/<size>') },
  })
  @ApiResponse({ status: 304, description: 'Not modified', headers: NOT_MODIFIED })
  @ApiProblems(400, 404, 409, 416, 422)
  async downloadCheckpointWeights(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query('format') format: string | undefined,
    @Headers('range') range: string | undefined,
    @Headers('if-range') ifRange: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile | undefined> {
    if (format !== undefined && !(WEIGHT_FORMATS as readonly string[]).includes(format)) {
      throw new ServiceError('VALIDATION_FAILED', `format must be one of ${WEIGHT_FORMATS.join(', ')}`, { field: 'format' });
    }
    const checkpoint = await this.checkpoints.get(id);
    if (format === 'onnx') return this.downloadOnnx(checkpoint, ifNoneMatch, res);
    if (this.notModified(checkpoint, ifNoneMatch, res)) return undefined;
    const byteRange = ifRangeAllowsPart(ifRange, { etag: etagOf(checkpoint) }) ? parseRange(range, checkpoint.sizeBytes) : null;
    const stream = await this.reader.openWeights(checkpoint, byteRange);
    // Only now that the bytes are at hand: an error above must not carry these.
    this.setDownloadHeaders(checkpoint, res);
    if (byteRange) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${byteRange.start}-${byteRange.end}/${checkpoint.sizeBytes}`);
    }
    const length = byteRange ? byteRange.end - byteRange.start + 1 : checkpoint.sizeBytes;
    return new StreamableFile(stream, { type: 'application/octet-stream', length }).setErrorHandler(streamFailureHandler(stream));
  }

  @ApiOperation({ summary: 'Size and ETag of the weights of a checkpoint' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Head('weights')
  @ApiResponse({ status: 200, description: 'Headers only: Content-Length, ETag', headers: BYTES })
  @ApiResponse({ status: 304, description: 'Not modified', headers: NOT_MODIFIED })
  @ApiProblems(400, 404)
  async headCheckpointWeights(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const checkpoint = await this.checkpoints.get(id);
    if (this.notModified(checkpoint, ifNoneMatch, res)) return;
    this.setDownloadHeaders(checkpoint, res);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(checkpoint.sizeBytes));
  }

  /** Shape, dtype and statistics of one tensor (names with `/` must be URL-encoded). */
  @ApiOperation({ summary: 'Shape, dtype and statistics of one tensor' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Get('tensors/:name')
  @ApiOkResponse({ type: TensorStatisticsDto })
  @ApiProblems(400, 404)
  async getCheckpointTensor(@Param('id', new ParseUUIDPipe()) id: string, @Param('name') name: string): Promise<TensorStatisticsDto> {
    const checkpoint = await this.checkpoints.get(id);
    const entry = this.reader.tensorEntry(checkpoint, name);
    const stats = await this.reader.tensorStatistics(checkpoint, entry);
    return { name: entry.name, dtype: entry.dtype, shape: entry.shape, ...stats };
  }

  /** The ONNX export, built on request (deterministic: its ETag derives from the weights' sha256). */
  private async downloadOnnx(checkpoint: Checkpoint, ifNoneMatch: string | undefined, res: Response): Promise<StreamableFile | undefined> {
    const etag = `"${checkpoint.sha256}.onnx"`;
    if (matchesIfNoneMatch(ifNoneMatch, [etag])) {
      setCaching(res, etag);
      res.status(304);
      return undefined;
    }
    const bytes = await this.reader.exportOnnx(checkpoint);
    setCaching(res, etag);
    res.setHeader('Content-Disposition', `attachment; filename="${fileNameOf(checkpoint)}.onnx"`);
    return new StreamableFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { type: 'application/octet-stream', length: bytes.byteLength });
  }

  /** 304 (with the validators a 200 would carry) when the client's copy is current. */
  private notModified(checkpoint: Checkpoint, ifNoneMatch: string | undefined, res: Response): boolean {
    if (!matchesIfNoneMatch(ifNoneMatch, [etagOf(checkpoint), checkpoint.sha256])) return false;
    setCaching(res, etagOf(checkpoint));
    res.setHeader('Accept-Ranges', 'bytes');
    res.status(304);
    return true;
  }

  /** Headers of a successful safetensors download (set once nothing can fail before the body). */
  private setDownloadHeaders(checkpoint: Checkpoint, res: Response): void {
    setCaching(res, etagOf(checkpoint));
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Disposition', `attachment; filename="${fileNameOf(checkpoint)}.safetensors"`);
  }
}

function etagOf(checkpoint: Checkpoint): string {
  return `"${checkpoint.sha256}"`;
}

function fileNameOf(checkpoint: Checkpoint): string {
  return checkpoint.name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Content-addressed bytes never change under their ETag: successful answers may be kept for a year. */
function setCaching(res: Response, etag: string): void {
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
}
