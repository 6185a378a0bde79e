import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsNumber, IsObject, IsOptional, IsString, IsUUID, MaxLength, ValidateNested } from 'class-validator';
import { EvaluationOptionsDto, EvaluationOptionsViewDto } from '../../evaluations/dto/evaluation.dto';
import { SOUP_METHODS } from '../../../core/averaging';
import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { EVALUATION_SPLITS } from '../../evaluations/evaluation.types';
import { NULLABLE_ERROR_SCHEMA, type JobErrorDto } from '../../jobs/dto/job.dto';
import { BATCH_NORM_POLICIES } from '../soup.types';

export const SOUP_REQUEST_METHODS = [...SOUP_METHODS, 'greedy'] as const;
/** Ingredients of one soup at most. */
export const MAX_SOUP_INGREDIENTS = 256;
const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

/** POST /v1/soups: a method with ingredients, or a mergekit recipe (YAML) whose models are checkpoint ids. */
export class CreateSoupDto {
  @ApiPropertyOptional({ enum: SOUP_REQUEST_METHODS, enumName: 'SoupMethod', description: 'Required unless `recipe` is given. greedy: candidates sorted by held-out score, each kept only if the uniform soup of the kept set scores higher' })
  @IsOptional()
  @IsIn(SOUP_REQUEST_METHODS)
  method?: string;

  @ApiPropertyOptional({ type: [String], format: 'uuid', maxItems: MAX_SOUP_INGREDIENTS, description: 'The ingredients (not the base), each once; greedy: the candidates' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SOUP_INGREDIENTS)
  @IsUUID('all', { each: true })
  checkpointIds?: string[];

  @ApiPropertyOptional({ type: [Number], description: 'One per ingredient: weighted (≥ 0, summing to 1) and the task-vector methods; same as parameters.weights' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SOUP_INGREDIENTS)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true })
  weights?: number[];

  @ApiPropertyOptional({ format: 'uuid', description: 'The base (pre-trained) model: task-arithmetic, ties, dare-*, breadcrumbs*, slerp (x0), model-stock' })
  @IsOptional()
  @IsUUID()
  baseCheckpointId?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Method parameters: weights, density, densities, lambda, normalize, rescale, gamma, t, seed, filterWise; greedy: acceptTies',
  })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional({ maxLength: 65536, description: "Instead of method, checkpointIds, weights, baseCheckpointId and parameters: a mergekit YAML recipe (merge_method, base_model, models, parameters, dtype) whose model references are checkpoint ids" })
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  recipe?: string;

  @ApiPropertyOptional({ maxLength: 200, description: 'Name of the checkpoint made (default soup-<method>)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Scores the ingredients and the soup on a split of this dataset; required by greedy and by batchNorm recalibrate' })
  @IsOptional()
  @IsUUID()
  datasetId?: string;

  @ApiPropertyOptional({ enum: EVALUATION_SPLITS, enumName: 'DatasetSplit', default: 'validation' })
  @IsOptional()
  @IsIn(EVALUATION_SPLITS)
  split?: (typeof EVALUATION_SPLITS)[number];

  @ApiPropertyOptional({
    enum: BATCH_NORM_POLICIES,
    enumName: 'SoupBatchNorm',
    description: "keep: the averaged running statistics; recalibrate: recomputed on the dataset's training batches and stored in the soup (the default for models with BatchNorm when a dataset is given); repair: not available yet (422)",
  })
  @IsOptional()
  @IsIn(BATCH_NORM_POLICIES)
  batchNorm?: (typeof BATCH_NORM_POLICIES)[number];

  @ApiPropertyOptional({ type: EvaluationOptionsDto, description: 'How scores are computed and BatchNorm recalibrated (the evaluations\' options and defaults)' })
  @IsOptional()
  @ValidateNested()
  @Type(() => EvaluationOptionsDto)
  options?: EvaluationOptionsDto;
}

export class SoupScoreDto {
  @ApiProperty({ description: 'Top-1 accuracy (fraction)' }) top1!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Top-5 accuracy; null under 5 classes' }) top5!: number | null;
  @ApiProperty({ description: 'Mean cross-entropy (no label smoothing)' }) loss!: number;
  @ApiProperty({ type: 'integer', description: 'Examples scored' }) count!: number;
}

export class SoupIngredientScoreDto {
  @ApiProperty({ format: 'uuid' }) checkpointId!: string;
  @ApiProperty({ type: SoupScoreDto, nullable: true }) score!: SoupScoreDto | null;
}

export class GreedyStepDto {
  @ApiProperty({ format: 'uuid', description: 'The candidate tried' }) checkpointId!: string;
  @ApiProperty({ description: 'Top-1 of the uniform soup of the kept set and this candidate' }) top1!: number;
  @ApiProperty() accepted!: boolean;
}

export class GreedyReportDto {
  @ApiProperty({ type: [String], description: 'Candidates by their own score, best first (ties: id ascending)' }) order!: string[];
  @ApiProperty({ type: [GreedyStepDto], description: 'One per candidate after the first, in that order' }) steps!: GreedyStepDto[];
  @ApiProperty({ type: [String], description: 'Kept, in the order they were accepted' }) kept!: string[];
  @ApiProperty() acceptTies!: boolean;
}

export class SoupMadeDto {
  @ApiProperty({ type: [String], description: 'Its ingredients (greedy: the kept ones)' }) checkpointIds!: string[];
  @ApiProperty({ type: SoupScoreDto, nullable: true }) score!: SoupScoreDto | null;
}

export class SoupComparisonDto {
  @ApiProperty({ type: SoupScoreDto }) score!: SoupScoreDto;
}

export class SoupReportDto {
  @ApiProperty({ enum: ['keep', 'recalibrate'], description: 'The BatchNorm policy used' }) batchNorm!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) datasetId!: string | null;
  @ApiProperty({ nullable: true, type: String }) split!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'What greedy ranks by: top1' }) metric!: string | null;
  @ApiProperty({ type: [SoupIngredientScoreDto] }) ingredients!: SoupIngredientScoreDto[];
  @ApiProperty({ type: GreedyReportDto, nullable: true }) greedy!: GreedyReportDto | null;
  @ApiProperty({ type: SoupMadeDto }) soup!: SoupMadeDto;
  @ApiProperty({ type: SoupComparisonDto, nullable: true, description: 'The uniform soup of every ingredient' }) uniform!: SoupComparisonDto | null;
  @ApiProperty({ type: SoupIngredientScoreDto, nullable: true }) bestIngredient!: SoupIngredientScoreDto | null;
}

export class SoupDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ enum: SOUP_REQUEST_METHODS, enumName: 'SoupMethod' }) method!: string;
  @ApiProperty({ enum: JOB_STATUSES, enumName: 'JobStatus' }) status!: string;
  @ApiProperty({ minimum: 0, maximum: 1 }) progress!: number;
  @ApiProperty({ type: [String], format: 'uuid' }) checkpointIds!: string[];
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) baseCheckpointId!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'As requested' }) parameters!: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'What makes it again: method, ingredients, base, parameters after defaults, source (json or mergekit-yaml) and the YAML given' })
  recipe!: Record<string, unknown>;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) datasetId!: string | null;
  @ApiProperty({ nullable: true, type: String }) split!: string | null;
  @ApiProperty({ enum: BATCH_NORM_POLICIES, nullable: true, type: String, description: 'As requested (null: the default)' }) batchNormRequested!: string | null;
  @ApiProperty({ enum: ['keep', 'recalibrate'] }) batchNorm!: string;
  @ApiProperty({ type: EvaluationOptionsViewDto }) options!: EvaluationOptionsViewDto;
  @ApiProperty({ type: SoupReportDto, nullable: true, description: 'Once it succeeded' }) report!: SoupReportDto | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The job making it (GET /v1/jobs/:id)' }) jobId!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The checkpoint made (kind soup), once it succeeded' }) resultCheckpointId!: string | null;
  @ApiProperty(NULLABLE_ERROR_SCHEMA) error!: JobErrorDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class SoupPageDto {
  @ApiProperty({ type: [SoupDto] }) items!: SoupDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

export class ListSoupsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Soups with this checkpoint as ingredient, base or result' })
  @IsOptional()
  @IsUUID()
  checkpointId?: string;

  @ApiPropertyOptional({ enum: SOUP_REQUEST_METHODS, enumName: 'SoupMethod' })
  @IsOptional()
  @IsIn(SOUP_REQUEST_METHODS)
  method?: string;
}
