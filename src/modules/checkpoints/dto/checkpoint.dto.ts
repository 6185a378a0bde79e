import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import { DTYPES } from '../../../core/tensor/dtypes';

export class TensorManifestEntryDto {
  @ApiProperty({ example: 'conv1.weight' }) name!: string;
  @ApiProperty({ enum: DTYPES, enumName: 'Dtype' }) dtype!: string;
  @ApiProperty({ type: 'array', items: { type: 'integer' }, example: [64, 3, 7, 7] }) shape!: number[];
  @ApiProperty({ type: 'integer', format: 'int64', description: 'Offset of the tensor bytes in the stored safetensors file' }) byteOffset!: number;
  @ApiProperty({ type: 'integer', format: 'int64' }) byteLength!: number;
}

export class MetricsSourceDto {
  @ApiProperty({ format: 'uuid' }) evaluationId!: string;
  @ApiProperty({ format: 'uuid' }) datasetId!: string;
  @ApiProperty({ enum: ['train', 'validation', 'test'] }) split!: string;
  @ApiProperty({ enum: ['eval', 'recalibrate'] }) batchNorm!: string;
  @ApiProperty({ type: 'integer', description: 'Examples scored' }) count!: number;
  @ApiProperty({ format: 'date-time' }) evaluatedAt!: string;
}

export class CheckpointDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'resnet18-finetune-3' }) name!: string;
  @ApiProperty({ example: 'uploaded', description: 'How the checkpoint was made: `uploaded` (an upload), `initialization` (stored by an initialization), `trained` (a model a training saved), `soup` (a soup or merge) or `training-state` (a training\'s resumable state)' }) kind!: string;
  @ApiProperty({ example: 'safetensors', description: 'Stored format (always safetensors)' }) format!: string;
  @ApiProperty({ example: 'safetensors', description: 'Format the client uploaded' }) originalFormat!: string;
  @ApiProperty({ description: 'sha256 of the stored bytes; also the ETag of /weights' }) sha256!: string;
  @ApiProperty({ type: 'integer', format: 'int64' }) sizeBytes!: number;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) architectureId!: string | null;
  @ApiProperty({ type: 'integer' }) tensorCount!: number;
  @ApiProperty({ type: 'integer', format: 'int64', description: 'Total number of elements over all tensors' }) parameterCount!: number;
  @ApiProperty({ type: [String] }) tags!: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: 'Numbers given at upload; an evaluation sets top1, top5 and loss (see metricsSource)' }) metrics!: Record<string, number>;
  @ApiProperty({ type: MetricsSourceDto, nullable: true, description: 'Where metrics.top1/top5/loss came from: the latest evaluation of the checkpoint; null when none' })
  metricsSource!: MetricsSourceDto | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Non-tensor entries of the source file' }) metadata!: Record<string, unknown>;
  @ApiProperty({ type: [String], description: 'Checkpoints this one was derived from' }) parentIds!: string[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class CheckpointDetailDto extends CheckpointDto {
  @ApiProperty({ type: [TensorManifestEntryDto] }) tensors!: TensorManifestEntryDto[];
}

export class CheckpointPageDto {
  @ApiProperty({ type: [CheckpointDto] }) items!: CheckpointDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

export class ListCheckpointsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only checkpoints carrying this tag' })
  @IsOptional()
  @IsString()
  tag?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  architectureId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  name?: string;

  @ApiPropertyOptional({ description: 'Only checkpoints of this kind (`uploaded`, `initialization`, `trained`, `soup`, `training-state`, ...); without it, every kind but `training-state` (a training\'s resumable state)' })
  @IsOptional()
  @IsString()
  kind?: string;
}

/** Multipart body of POST /v1/checkpoints (documentation only; parsed by streaming). */
export class UploadCheckpointDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'safetensors file (streamed; never buffered whole)' })
  file!: unknown;
  @ApiPropertyOptional({ description: 'Defaults to the file name without extension' }) name?: string;
  @ApiPropertyOptional({ format: 'uuid' }) architectureId?: string;
  @ApiPropertyOptional({ description: 'JSON array of strings, or comma-separated', example: '["imagenet","baseline"]' }) tags?: string;
  @ApiPropertyOptional({ description: 'JSON object of numbers', example: '{"top1": 0.712}' }) metrics?: string;
  @ApiPropertyOptional({ description: 'JSON array or comma-separated checkpoint ids this one derives from' }) parentIds?: string;
}

export class TensorStatisticsDto {
  @ApiProperty() name!: string;
  @ApiProperty({ enum: DTYPES, enumName: 'Dtype' }) dtype!: string;
  @ApiProperty({ type: 'array', items: { type: 'integer' } }) shape!: number[];
  @ApiProperty({ type: 'integer', format: 'int64' }) count!: number;
  @ApiProperty({ nullable: true, type: Number }) min!: number | null;
  @ApiProperty({ nullable: true, type: Number }) max!: number | null;
  @ApiProperty({ nullable: true, type: Number }) mean!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Population standard deviation' }) std!: number | null;
  @ApiProperty({ description: 'Fraction of elements equal to zero' }) zeroFraction!: number;
  @ApiProperty({ type: 'integer', format: 'int64' }) nanCount!: number;
  @ApiProperty({ type: 'integer', format: 'int64' }) infCount!: number;
}

export class LineageNodeDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'uploaded, initialization, trained, soup, ...' }) kind!: string;
  @ApiProperty({ type: () => [LineageNodeDto], description: 'The checkpoints it was made from (a soup: its ingredients and base), each with its own parents' }) parents!: LineageNodeDto[];
  @ApiProperty({ description: 'True when it has parents not shown (past the depth or size bound)' }) truncated!: boolean;
}

export class LineageQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 64, default: 16, description: 'Levels of parents shown' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(64)
  depth?: number;
}
