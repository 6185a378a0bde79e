import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { IsIn, IsOptional, IsString } from 'class-validator';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export interface JobErrorDto {
  code: string;
  message: string;
}

/**
 * `{ code, message }` or null, written inline: OpenAPI 3.0's `nullable` does not reach into a
 * referenced schema, so a `$ref`/`allOf` to an object would not admit null.
 */
export const NULLABLE_ERROR_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  nullable: true,
  properties: { code: { type: 'string', description: 'Stable error code' }, message: { type: 'string' } },
  required: ['code', 'message'],
  description: 'Why it failed; null unless it failed or was cancelled',
};

export class JobDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'checkpoint.statistics' }) type!: string;
  @ApiProperty({ enum: JOB_STATUSES, enumName: 'JobStatus' }) status!: (typeof JOB_STATUSES)[number];
  @ApiProperty({ minimum: 0, maximum: 1 }) progress!: number;
  @ApiProperty({ type: 'integer' }) attempts!: number;
  @ApiProperty() cancelRequested!: boolean;
  @ApiProperty({ type: 'object', additionalProperties: true }) payload!: Record<string, unknown>;
  @ApiPropertyOptional({ description: 'Present once the job succeeded', type: 'object', additionalProperties: true, nullable: true })
  result!: Record<string, unknown> | null;
  @ApiProperty(NULLABLE_ERROR_SCHEMA) error!: JobErrorDto | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) checkpointId!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) startedAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt!: string | null;
}

export class JobPageDto {
  @ApiProperty({ type: [JobDto] }) items!: JobDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

export class ListJobsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: JOB_STATUSES, enumName: 'JobStatus' })
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: (typeof JOB_STATUSES)[number];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  type?: string;

}
