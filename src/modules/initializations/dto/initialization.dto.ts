import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { BATCH_NORM_POLICIES, MAX_SEED, type BatchNormPolicy } from '../../../core/init';
import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { NULLABLE_ERROR_SCHEMA, type JobErrorDto } from '../../jobs/dto/job.dto';
import { INITIALIZATION_METHODS, INITIALIZATION_STATUSES, type InitializationMethod } from '../initialization.types';

/** JSON body of POST /v1/initializations. */
export class CreateInitializationDto {
  @ApiProperty({ format: 'uuid', description: 'The architecture to initialize (POST /v1/architectures)' })
  @IsUUID()
  architectureId!: string;

  @ApiProperty({
    enum: INITIALIZATION_METHODS,
    enumName: 'InitializationMethod',
    description:
      'ghn: parameters predicted by a graph hypernetwork; kaiming: kaiming_normal(fan_out) convs, N(0, 0.01) linears (torchvision ResNet); ' +
      'torch-default: PyTorch modules’ reset_parameters; orthogonal: orthogonal_ weights, zero biases',
  })
  @IsIn(INITIALIZATION_METHODS)
  method!: InitializationMethod;

  @ApiPropertyOptional({ format: 'uuid', description: 'Method ghn only: the GHN to use (default: GET /v1/ghns/default)' })
  @IsOptional()
  @IsUUID()
  ghnId?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_SEED,
    default: 0,
    description: 'Seed of every random draw (values are reproducible here, not bit-equal to torch’s RNG)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SEED)
  seed?: number;

  @ApiPropertyOptional({
    enum: BATCH_NORM_POLICIES,
    enumName: 'BatchNormPolicy',
    default: 'fresh',
    description: 'BatchNorm running statistics (never predicted): fresh = running_mean 0, running_var 1, num_batches_tracked 0',
  })
  @IsOptional()
  @IsIn(BATCH_NORM_POLICIES)
  batchNorm?: BatchNormPolicy;
}

export class InitializationOptionsDto {
  @ApiProperty({ type: 'integer' }) seed!: number;
  @ApiProperty({ enum: BATCH_NORM_POLICIES, enumName: 'BatchNormPolicy' }) batchNorm!: string;
}

export type InitializationErrorDto = JobErrorDto;

export class InitializationDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: INITIALIZATION_STATUSES, enumName: 'InitializationStatus' }) status!: string;
  @ApiProperty({ description: 'True when the stored result of an identical earlier request was returned (nothing was computed)' })
  cached!: boolean;
  @ApiProperty({ format: 'uuid' }) architectureId!: string;
  @ApiProperty({ enum: INITIALIZATION_METHODS, enumName: 'InitializationMethod' }) method!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The GHN used (method ghn)' }) ghnId!: string | null;
  @ApiProperty({ type: InitializationOptionsDto }) options!: InitializationOptionsDto;
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'The checkpoint (kind `initialization`) once computed: download GET /v1/checkpoints/{id}/weights',
  })
  checkpointId!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The job computing it, for large initializations' }) jobId!: string | null;
  @ApiProperty(NULLABLE_ERROR_SCHEMA) error!: InitializationErrorDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class InitializationPageDto {
  @ApiProperty({ type: [InitializationDto] }) items!: InitializationDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

export class ListInitializationsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  architectureId?: string;

  @ApiPropertyOptional({ enum: INITIALIZATION_METHODS, enumName: 'InitializationMethod' })
  @IsOptional()
  @IsIn(INITIALIZATION_METHODS)
  method?: InitializationMethod;
}
