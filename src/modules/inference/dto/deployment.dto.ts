import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import { TENSOR_BACKENDS } from '../../../infra/config/app-config';
import { DEPLOYMENT_NAME_PATTERN, ENGINE_CHOICES, type EngineChoice } from '../deployment.types';
import { OipTensorMetadataDto } from './oip.dto';

const BACKENDS = TENSOR_BACKENDS.filter((b) => b !== 'auto');

export class CreateDeploymentDto {
  @ApiProperty({ example: 'resnet18', description: 'Model name in /v2/models/{name}: letters, digits, `.`, `_`, `-` (1 to 128)' })
  @IsString()
  @Matches(DEPLOYMENT_NAME_PATTERN, { message: 'name must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit' })
  name!: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  checkpointId!: string;

  @ApiPropertyOptional({ format: 'uuid', description: "Defaults to the checkpoint's architecture" })
  @IsOptional()
  @IsUUID()
  architectureId?: string;

  @ApiPropertyOptional({ enum: ENGINE_CHOICES, enumName: 'InferenceEngineChoice', default: 'auto', description: '`auto`: WEIGHTSMITH_DEFAULT_ENGINE (onnxruntime on CPU, tfjs on a GPU backend)' })
  @IsOptional()
  @IsIn(ENGINE_CHOICES)
  engine?: EngineChoice;

  @ApiPropertyOptional({ enum: BACKENDS, enumName: 'DeploymentBackend', description: 'Informational: tfjs runs on the backend selected at start, onnxruntime on `cpu`; a different value is refused (422)' })
  @IsOptional()
  @IsIn(BACKENDS)
  backend?: string;

  @ApiPropertyOptional({ type: 'integer', default: 8, minimum: 1, maximum: 256, description: 'Most rows per engine run; larger requests are refused (400)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(256)
  maxBatchSize?: number;

  @ApiPropertyOptional({ type: 'integer', default: 2, minimum: 0, maximum: 1000, description: 'How long a request may wait for others to join its batch (ms)' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1000)
  maxQueueDelayMs?: number;

  @ApiPropertyOptional({ type: 'integer', default: 64, minimum: 1, maximum: 10000, description: 'Most requests waiting; more get 503' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10000)
  maxQueueSize?: number;

  @ApiPropertyOptional({ default: true, description: 'Concatenate queued requests into batches (models whose inputs and outputs share a variable first dim)' })
  @IsOptional()
  @IsBoolean()
  dynamicBatching?: boolean;
}

export class DeploymentDto {
  @ApiProperty({ example: 'resnet18' }) name!: string;
  @ApiProperty({ example: '1', description: 'The one version served' }) version!: string;
  @ApiProperty({ enum: ['ready'], description: 'Deployments are listed once loaded' }) state!: 'ready';
  @ApiProperty({ format: 'uuid' }) checkpointId!: string;
  @ApiProperty({ format: 'uuid' }) architectureId!: string;
  @ApiProperty({ enum: ['tfjs', 'onnxruntime'], enumName: 'InferenceEngineKind' }) engine!: string;
  @ApiProperty({ example: 'onnxruntime-cpu' }) engineName!: string;
  @ApiProperty({ example: 'cpu' }) backend!: string;
  @ApiProperty({ type: 'integer' }) maxBatchSize!: number;
  @ApiProperty({ type: 'integer' }) maxQueueDelayMs!: number;
  @ApiProperty({ type: 'integer' }) maxQueueSize!: number;
  @ApiProperty({ description: 'False when asked, or when the model has no shared variable batch dim' }) dynamicBatching!: boolean;
  @ApiProperty({ description: 'Inputs and outputs share a variable first dim' }) batchable!: boolean;
  @ApiProperty({ type: [OipTensorMetadataDto] }) inputs!: OipTensorMetadataDto[];
  @ApiProperty({ type: [OipTensorMetadataDto] }) outputs!: OipTensorMetadataDto[];
  @ApiProperty({ type: 'integer', description: 'Requests waiting now' }) queueDepth!: number;
  @ApiProperty({ description: 'Milliseconds to read the weights, build the engine and run it once' }) loadMs!: number;
  @ApiProperty({ example: '/v2/models/resnet18/infer' }) inferPath!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class DeploymentListDto {
  @ApiProperty({ type: [DeploymentDto] }) items!: DeploymentDto[];
}
