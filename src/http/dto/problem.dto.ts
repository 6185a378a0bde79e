import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The error envelope of every 4xx/5xx response (RFC 9457 problem details plus a stable code). */
export class ProblemDto {
  @ApiProperty({ example: 'urn:weightsmith:problem:CHECKPOINT_NOT_FOUND' })
  type!: string;
  @ApiProperty({ example: 'Not Found' })
  title!: string;
  @ApiProperty({ type: 'integer', example: 404 })
  status!: number;
  @ApiProperty({ example: 'checkpoint 7d3f... does not exist' })
  detail!: string;
  @ApiProperty({ description: 'Stable machine-readable error code', example: 'CHECKPOINT_NOT_FOUND' })
  code!: string;
  @ApiPropertyOptional({ description: 'Echoes the X-Request-Id of the request' })
  requestId?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  details?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'array', items: { type: 'string' } })
  errors?: string[];
}
