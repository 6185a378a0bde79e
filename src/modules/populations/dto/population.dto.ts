import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { POPULATION_VARIANTS } from '../../../core/averaging/population-pull';
import { PageQueryDto } from '../../../http/dto/page-query.dto';

/** Largest step, version and seed a population records (PostgreSQL integer). */
export const MAX_POPULATION_INT = 2_147_483_647;
export const MAX_POPULATION_SIZE = 1024;

/** JSON body of POST /v1/populations: a population coordinated for trainers running elsewhere. */
export class CreatePopulationDto {
  @ApiPropertyOptional({ maxLength: 200, default: 'population' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ enum: ['coordinated'], default: 'coordinated', description: 'Members push their weights from trainers running elsewhere' })
  @IsOptional()
  @IsIn(['coordinated'])
  mode?: 'coordinated';

  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_POPULATION_SIZE, description: 'Members, numbered 0 to size − 1' })
  @IsInt()
  @Min(1)
  @Max(MAX_POPULATION_SIZE)
  size!: number;

  @ApiProperty({ enum: POPULATION_VARIANTS, description: 'papa: pull toward the mean; papa-all: replace by the mean; papa-2: 50/50 average of a random pair' })
  @IsIn(POPULATION_VARIANTS)
  variant!: (typeof POPULATION_VARIANTS)[number];

  @ApiPropertyOptional({ minimum: 0, maximum: 1, default: 0.99, description: 'papa only: the share a member keeps of itself (θ ← α·θ + (1 − α)·mean)' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  alpha?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 1, description: 'A push pulls only when its step is a multiple of this (others get their weights back unchanged)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_POPULATION_INT)
  every?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0, description: 'papa-2: seed of the random pairs (drawn per step)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_POPULATION_INT)
  seed?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 600, description: 'A member that has not pushed for this long is left out of the mean (with a warning)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(30 * 86400)
  staleAfterSeconds?: number;

  @ApiPropertyOptional({ format: 'uuid', description: 'The architecture the members train (recorded, not checked against the weights)' })
  @IsOptional()
  @IsUUID()
  architectureId?: string;
}

export class PopulationMemberDto {
  @ApiProperty({ type: 'integer' }) k!: number;
  @ApiProperty({ type: 'integer', description: 'The step of its latest push' }) step!: number;
  @ApiProperty({ type: 'integer', description: 'The population version of its latest push' }) version!: number;
  @ApiProperty({ description: 'sha256 of its latest weights' }) sha256!: string;
  @ApiProperty({ type: 'integer', format: 'int64' }) sizeBytes!: number;
  @ApiProperty({ format: 'date-time' }) pushedAt!: string;
  @ApiProperty({ description: 'False once it has not pushed for staleAfterSeconds: left out of the mean' }) active!: boolean;
}

export class TensorLayoutEntryDto {
  @ApiProperty() name!: string;
  @ApiProperty() dtype!: string;
  @ApiProperty({ type: [Number] }) shape!: number[];
}

export class PopulationDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['coordinated', 'trained'] }) mode!: string;
  @ApiProperty({ type: 'integer' }) size!: number;
  @ApiProperty({ enum: POPULATION_VARIANTS }) variant!: string;
  @ApiProperty({ nullable: true, type: Number, description: 'papa only' }) alpha!: number | null;
  @ApiProperty({ type: 'integer' }) every!: number;
  @ApiProperty({ type: 'integer' }) seed!: number;
  @ApiProperty({ type: 'integer' }) staleAfterSeconds!: number;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) architectureId!: string | null;
  @ApiProperty({ type: 'integer', description: 'Pushes so far' }) version!: number;
  @ApiProperty({ type: [TensorLayoutEntryDto], nullable: true, description: 'Set by the first push; later pushes must match' }) layout!: TensorLayoutEntryDto[] | null;
  @ApiProperty({ type: [PopulationMemberDto], description: 'Members that have pushed, by k' }) members!: PopulationMemberDto[];
  @ApiProperty({ type: [String], description: 'E.g. a member excluded from the mean because it stopped pushing' }) warnings!: string[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class PopulationPageDto {
  @ApiProperty({ type: [PopulationDto] }) items!: PopulationDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

export class ListPopulationsQueryDto extends PageQueryDto {}
