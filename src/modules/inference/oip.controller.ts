import { All, Controller, Get, HttpCode, NotFoundException, Param, Post, Req, Res, StreamableFile, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiExtraModels, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Public, RequireScope } from '../../http/auth.decorators';
import { OipInferRequestDto, OipInferResponseDto, OipModelMetadataDto, OipModelReadyDto, OipServerLiveDto, OipServerMetadataDto, OipServerReadyDto } from './dto/oip.dto';
import { inferBodyOf } from './infer-body';
import { ApiOipErrors, HEADER_LENGTH, InferDocs } from './oip-docs';
import { InferenceService } from './inference.service';
import { OipErrorFilter } from './oip-error.filter';

/**
 * Open Inference Protocol (KServe v2) REST. Errors use the protocol's `{ "error" }` body (the
 * controller's own filter); health routes are public like /health/*, the rest needs a key with
 * `read` scope (infer changes nothing).
 */
@ApiTags('inference (open inference protocol)')
@ApiBearerAuth()
@ApiExtraModels(OipInferRequestDto, OipInferResponseDto)
@UseFilters(OipErrorFilter)
@Controller('v2')
export class OipController {
  constructor(private readonly inference: InferenceService) {}

  @ApiOperation({ summary: 'Server metadata' })
  @Get()
  @ApiOkResponse({ type: OipServerMetadataDto })
  @ApiOipErrors()
  serverMetadata(): OipServerMetadataDto {
    return this.inference.serverMetadata();
  }

  @ApiOperation({ summary: 'Server liveness' })
  @Public()
  @SkipThrottle()
  @Get('health/live')
  @ApiOkResponse({ type: OipServerLiveDto })
  serverLive(): OipServerLiveDto {
    return { live: true };
  }

  /** 200 `{ready: true}` when /health/ready passes; 503 `{ready: false}` otherwise. */
  @ApiOperation({ summary: 'Server readiness' })
  @Public()
  @SkipThrottle()
  @Get('health/ready')
  @ApiOkResponse({ type: OipServerReadyDto })
  @ApiResponse({ status: 503, type: OipServerReadyDto })
  async serverReady(@Res({ passthrough: true }) res: Response): Promise<OipServerReadyDto> {
    const ready = await this.inference.serverReady();
    if (!ready) res.status(503);
    return { ready };
  }

  @ApiOperation({ summary: 'Model metadata' })
  @Get('models/:model')
  @ApiOkResponse({ type: OipModelMetadataDto })
  @ApiOipErrors(404)
  modelMetadata(@Param('model') model: string): OipModelMetadataDto {
    return this.inference.modelMetadata(model);
  }

  @ApiOperation({ summary: 'Model version metadata' })
  @Get('models/:model/versions/:version')
  @ApiOkResponse({ type: OipModelMetadataDto })
  @ApiOipErrors(404)
  modelVersionMetadata(@Param('model') model: string, @Param('version') version: string): OipModelMetadataDto {
    return this.inference.modelMetadata(model, version);
  }

  @ApiOperation({ summary: 'Model readiness' })
  @Get('models/:model/ready')
  @ApiOkResponse({ type: OipModelReadyDto })
  @ApiResponse({ status: 503, type: OipModelReadyDto })
  @ApiOipErrors(404)
  modelReady(@Param('model') model: string, @Res({ passthrough: true }) res: Response): OipModelReadyDto {
    return this.readiness(model, undefined, res);
  }

  @ApiOperation({ summary: 'Model version readiness' })
  @Get('models/:model/versions/:version/ready')
  @ApiOkResponse({ type: OipModelReadyDto })
  @ApiResponse({ status: 503, type: OipModelReadyDto })
  @ApiOipErrors(404)
  modelVersionReady(@Param('model') model: string, @Param('version') version: string, @Res({ passthrough: true }) res: Response): OipModelReadyDto {
    return this.readiness(model, version, res);
  }

  /**
   * Runs the model. JSON tensors, or (binary tensor data extension) a JSON header of
   * `Inference-Header-Content-Length` bytes followed by raw little-endian tensors. Requests are
   * queued and batched with others (dynamic batching); each gets its own rows back.
   */
  @Post('models/:model/infer')
  @HttpCode(200)
  @RequireScope('read')
  @InferDocs('json', 'Run inference')
  async modelInfer(@Param('model') model: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<StreamableFile> {
    return this.infer(model, undefined, req, res);
  }

  /** The binary tensor data extension under a path of its own (the protocol's route takes it too). */
  @Post('models/:model/infer/binary')
  @HttpCode(200)
  @RequireScope('read')
  @InferDocs('binary', 'Run inference with binary tensor data')
  async modelInferBinary(@Param('model') model: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<StreamableFile> {
    return this.infer(model, undefined, req, res);
  }

  @Post('models/:model/versions/:version/infer')
  @HttpCode(200)
  @RequireScope('read')
  @InferDocs('json', 'Run inference on a model version')
  async modelVersionInfer(
    @Param('model') model: string,
    @Param('version') version: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile> {
    return this.infer(model, version, req, res);
  }

  @Post('models/:model/versions/:version/infer/binary')
  @HttpCode(200)
  @RequireScope('read')
  @InferDocs('binary', 'Run inference on a model version with binary tensor data')
  async modelVersionInferBinary(
    @Param('model') model: string,
    @Param('version') version: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile> {
    return this.infer(model, version, req, res);
  }

  private readiness(model: string, version: string | undefined, res: Response): OipModelReadyDto {
    const ready = this.inference.modelReady(model, version);
    if (!ready) res.status(503);
    return { name: model, ready };
  }

  /** Any other path under /v2 (declared last): 404 in the protocol's body rather than /v1's problem+json. */
  @Public()
  @All('*path')
  @ApiExcludeEndpoint()
  unknownRoute(@Req() req: Request): never {
    throw new NotFoundException(`the Open Inference Protocol has no route ${req.method} ${req.path}`);
  }

  private async infer(model: string, version: string | undefined, req: Request, res: Response): Promise<StreamableFile> {
    // Normally the raw bytes from the infer-route reader; a body some JSON parser already read is an object.
    const body = inferBodyOf(req) ?? ((req.body ?? {}) as Record<string, unknown>);
    const encoded = await this.inference.infer(model, version, body, req.header(HEADER_LENGTH));
    if (encoded.headerLength !== undefined) res.setHeader(HEADER_LENGTH, String(encoded.headerLength));
    return new StreamableFile(encoded.body, { type: encoded.contentType, length: encoded.body.length });
  }
}
