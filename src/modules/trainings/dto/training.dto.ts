import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, IsUUID, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { MAX_SEED } from '../../../core/init';
import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { CreateInitializationDto } from '../../initializations/dto/initialization.dto';
import { NULLABLE_ERROR_SCHEMA, type JobErrorDto } from '../../jobs/dto/job.dto';

const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export class TrainingStartDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Train this checkpoint (it must record its architecture)' })
  @IsOptional()
  @IsUUID()
  checkpointId?: string;

  @ApiPropertyOptional({ type: CreateInitializationDto, description: 'Or start from an initialization (any method, GHN included), computed first when it is not stored yet' })
  @IsOptional()
  @ValidateNested()
  @Type(() => CreateInitializationDto)
  initialization?: CreateInitializationDto;
}

export class OptimizerDto {
  @ApiProperty({ enum: ['sgd', 'adam', 'adamw', 'adam-cm'] }) name!: string;
  @ApiProperty({ description: 'Learning rate (the schedule scales it)' }) lr!: number;
  @ApiPropertyOptional({ description: 'sgd: momentum' }) momentum?: number;
  @ApiPropertyOptional({ description: 'sgd: Nesterov momentum' }) nesterov?: boolean;
  @ApiPropertyOptional({ description: 'sgd: dampening' }) dampening?: number;
  @ApiPropertyOptional({ description: 'All: weight decay (in the gradient for sgd, adam and adam-cm; decoupled for adamw)' }) weightDecay?: number;
  @ApiPropertyOptional({ type: [Number], minItems: 2, maxItems: 2, description: 'adam, adamw, adam-cm: (β1, β2)' }) betas?: number[];
  @ApiPropertyOptional({ description: 'adam, adamw, adam-cm: ε' }) eps?: number;
  @ApiPropertyOptional({ type: 'integer', description: 'adam-cm: critical gradients kept' }) topC?: number;
  @ApiPropertyOptional({ description: 'adam-cm: decay of the kept gradients' }) decay?: number;
}

export class ScheduleDto {
  @ApiProperty({ enum: ['constant', 'step', 'cosine'] }) name!: string;
  @ApiPropertyOptional({ type: 'integer', description: 'Linear warm-up over this many steps first' }) warmupSteps?: number;
  @ApiPropertyOptional({ description: 'Warm-up starts at lr × this factor' }) warmupStartFactor?: number;
  @ApiPropertyOptional({ type: 'integer', description: 'step: multiply by gamma every this many steps' }) stepSize?: number;
  @ApiPropertyOptional({ description: 'step: the factor' }) gamma?: number;
  @ApiPropertyOptional({ description: 'cosine: the final learning rate' }) minLr?: number;
}

export class RandomCropDto {
  @ApiProperty({ type: 'integer', description: 'Zero padding (raw pixels) on each side before a random crop back to the image size' }) padding!: number;
}

export class AugmentDto {
  @ApiPropertyOptional({ type: RandomCropDto }) randomCrop?: RandomCropDto;
  @ApiPropertyOptional({ description: 'Flip horizontally with probability 0.5' }) horizontalFlip?: boolean;
}

/** JSON body of POST /v1/trainings. The nested options are checked strictly by the training core. */
export class CreateTrainingDto {
  @ApiPropertyOptional({ maxLength: 200, description: 'Names the checkpoints it saves (default: architecture-dataset)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiProperty({ type: TrainingStartDto })
  @ValidateNested()
  @Type(() => TrainingStartDto)
  start!: TrainingStartDto;

  @ApiProperty({ format: 'uuid', description: 'The dataset: trains on its train split' })
  @IsUUID()
  datasetId!: string;

  @ApiProperty({ type: OptimizerDto })
  @IsObject()
  optimizer!: Record<string, unknown>;

  @ApiPropertyOptional({ type: ScheduleDto, description: 'Default: constant' })
  @IsOptional()
  @IsObject()
  schedule?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'Epochs over the train split (give epochs or steps)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  epochs?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'Optimizer steps (give epochs or steps)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  steps?: number;

  @ApiProperty({ type: 'integer', minimum: 1 })
  @IsInt()
  @Min(1)
  batchSize!: number;

  @ApiPropertyOptional({ type: AugmentDto, description: 'Default: none' })
  @IsOptional()
  @IsObject()
  augment?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_SEED, default: 0, description: 'Seeds shuffling and augmentation' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SEED)
  seed?: number;

  @ApiPropertyOptional({ default: 0, minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumber()
  labelSmoothing?: number;

  @ApiPropertyOptional({ default: true, description: 'false: batches in dataset order, no augmentation' })
  @IsOptional()
  @IsBoolean()
  shuffle?: boolean;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 1, description: 'Evaluate every this many epochs (0: never); the last epoch is always evaluated when not 0' })
  @IsOptional()
  @IsInt()
  @Min(0)
  evaluateEvery?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0, description: 'Store a `trained` checkpoint every this many epochs (0: the final one only)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  saveEvery?: number;

  @ApiPropertyOptional({ enum: ['validation', 'test'], default: 'validation' })
  @IsOptional()
  @IsIn(['validation', 'test'])
  evaluationSplit?: 'validation' | 'test';
}

export class TrainingProgressDto {
  @ApiProperty({ type: 'integer' }) epoch!: number;
  @ApiProperty({ type: 'integer' }) step!: number;
  @ApiProperty({ type: 'integer' }) totalSteps!: number;
  @ApiProperty({ description: 'Loss of the latest batch' }) loss!: number;
  @ApiProperty({ description: 'Top-1 accuracy of the latest batch' }) accuracy!: number;
  @ApiProperty() learningRate!: number;
  @ApiProperty({ description: 'Training images per second over the latest steps' }) imagesPerSecond!: number;
}

export class CurveEvaluationDto {
  @ApiProperty() split!: string;
  @ApiProperty() top1!: number;
  @ApiProperty({ nullable: true, type: Number }) top5!: number | null;
  @ApiProperty() loss!: number;
}

export class CurvePointDto {
  @ApiProperty({ type: 'integer' }) epoch!: number;
  @ApiProperty({ type: 'integer' }) step!: number;
  @ApiProperty({ description: 'Mean training loss over the epoch' }) loss!: number;
  @ApiProperty({ description: 'Training top-1 accuracy over the epoch' }) accuracy!: number;
  @ApiProperty({ type: CurveEvaluationDto, nullable: true }) evaluation!: CurveEvaluationDto | null;
}

export class TrainingDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: JOB_STATUSES, enumName: 'JobStatus' }) status!: string;
  @ApiProperty({ format: 'uuid' }) architectureId!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Null while its initialization is computed' }) startCheckpointId!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) initializationId!: string | null;
  @ApiProperty({ format: 'uuid' }) datasetId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The validated options it runs with' }) config!: Record<string, unknown>;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) jobId!: string | null;
  @ApiProperty({ type: TrainingProgressDto, nullable: true }) progress!: TrainingProgressDto | null;
  @ApiProperty({ type: [CurvePointDto], description: 'One point per finished epoch' }) curve!: CurvePointDto[];
  @ApiProperty({ type: [String], description: 'Checkpoints it stored (kind `trained`); the last is the final model once it succeeded' })
  checkpointIds!: string[];
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The final model, once it succeeded' }) resultCheckpointId!: string | null;
  @ApiProperty(NULLABLE_ERROR_SCHEMA) error!: JobErrorDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class TrainingPageDto {
  @ApiProperty({ type: [TrainingDto] }) items!: TrainingDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

export class ListTrainingsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  datasetId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  startCheckpointId?: string;
}
