import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsUUID, Max, Min, ValidateNested } from 'class-validator';
import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { BATCH_NORM_MODES, EVALUATION_SPLITS } from '../evaluation.types';

export const MAX_CHECKPOINTS_PER_EVALUATION = 50;

export class EvaluationOptionsDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1024, default: 128, description: 'Examples per forward pass (evaluation and recalibration)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1024)
  batchSize?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 10_000, default: 20, description: 'recalibrate: training batches the BatchNorm statistics are recomputed on' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  recalibrateBatches?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0, description: 'recalibrate: seed of the order training examples are drawn in' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  seed?: number;
}

/** POST /v1/evaluations. */
export class CreateEvaluationDto {
  @ApiProperty({ type: [String], format: 'uuid', minItems: 1, maxItems: MAX_CHECKPOINTS_PER_EVALUATION, description: 'Checkpoints with an executable architecture' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CHECKPOINTS_PER_EVALUATION)
  @IsUUID('all', { each: true })
  checkpointIds!: string[];

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  datasetId!: string;

  @ApiProperty({ enum: EVALUATION_SPLITS, enumName: 'DatasetSplit' })
  @IsIn(EVALUATION_SPLITS)
  split!: (typeof EVALUATION_SPLITS)[number];

  @ApiPropertyOptional({
    enum: BATCH_NORM_MODES,
    enumName: 'EvaluationBatchNorm',
    default: 'eval',
    description: "eval: the checkpoint's running statistics; recalibrate: recomputed first on `recalibrateBatches` training batches (update_bn's cumulative average), used for this score only",
  })
  @IsOptional()
  @IsIn(BATCH_NORM_MODES)
  batchNorm?: (typeof BATCH_NORM_MODES)[number];

  @ApiPropertyOptional({ type: EvaluationOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => EvaluationOptionsDto)
  options?: EvaluationOptionsDto;
}

export class EvaluationResultDto {
  @ApiProperty({ format: 'uuid' }) checkpointId!: string;
  @ApiProperty({ description: 'Top-1 accuracy (fraction)' }) top1!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Top-5 accuracy; null under 5 classes' }) top5!: number | null;
  @ApiProperty({ description: 'Mean cross-entropy (no label smoothing)' }) loss!: number;
  @ApiProperty({ type: 'integer', description: 'Examples scored' }) count!: number;
}

export class EvaluationOptionsViewDto {
  @ApiProperty({ type: 'integer' }) batchSize!: number;
  @ApiProperty({ type: 'integer' }) recalibrateBatches!: number;
  @ApiProperty({ type: 'integer' }) seed!: number;
}

export class EvaluationErrorDto {
  @ApiProperty() code!: string;
  @ApiProperty() message!: string;
}

export class EvaluationDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) datasetId!: string;
  @ApiProperty({ enum: EVALUATION_SPLITS, enumName: 'DatasetSplit' }) split!: string;
  @ApiProperty({ enum: BATCH_NORM_MODES, enumName: 'EvaluationBatchNorm' }) batchNorm!: string;
  @ApiProperty({ type: EvaluationOptionsViewDto }) options!: EvaluationOptionsViewDto;
  @ApiProperty({ type: [String], format: 'uuid' }) checkpointIds!: string[];
  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] }) status!: string;
  @ApiProperty({ minimum: 0, maximum: 1 }) progress!: number;
  @ApiProperty({ type: EvaluationErrorDto, nullable: true }) error!: EvaluationErrorDto | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The job computing it (GET /v1/jobs/:id; DELETE cancels)' }) jobId!: string | null;
  @ApiProperty({ type: [EvaluationResultDto], description: 'One per checkpoint once the evaluation succeeded; empty before' }) results!: EvaluationResultDto[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class EvaluationPageDto {
  @ApiProperty({ type: [EvaluationDto] }) items!: EvaluationDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class ListEvaluationsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Evaluations that score this checkpoint' })
  @IsOptional()
  @IsUUID()
  checkpointId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  datasetId?: string;
}
