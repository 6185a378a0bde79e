import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { DATASET_SOURCES } from '../dataset.types';
import { MAX_DATASET_SEED } from '../dataset-request';

export class NormalizationDto {
  @ApiProperty({ type: [Number], example: [0.286], description: 'Per-channel mean of the training split (uint8 inputs on the 0..1 scale)' }) mean!: number[];
  @ApiProperty({ type: [Number], example: [0.353], description: 'Per-channel population std of the training split (1 for a constant channel)' }) std!: number[];
}

export class SplitSizesDto {
  @ApiProperty({ type: 'integer' }) train!: number;
  @ApiProperty({ type: 'integer' }) validation!: number;
  @ApiProperty({ type: 'integer' }) test!: number;
}

export class DatasetSplitsDto {
  @ApiProperty({ type: 'integer', description: 'Seed of the stratified split' }) seed!: number;
  @ApiProperty({ description: 'Fraction of each class in validation' }) validation!: number;
  @ApiProperty({ description: 'Fraction of each class in test' }) test!: number;
  @ApiProperty({ type: SplitSizesDto }) sizes!: SplitSizesDto;
}

export class DatasetBlobDto {
  @ApiProperty({ description: 'sha256 of the stored dataset safetensors file' }) sha256!: string;
  @ApiProperty({ type: 'integer', format: 'int64' }) sizeBytes!: number;
}

export class DatasetDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'fashion-mnist' }) name!: string;
  @ApiProperty({ enum: DATASET_SOURCES, enumName: 'DatasetSource' }) source!: string;
  @ApiProperty({ type: [Number], example: [70000, 1, 28, 28], description: '[N, C, H, W]' }) shape!: number[];
  @ApiProperty({ enum: ['F32', 'U8'], description: 'U8: pixels 0..255, read as value / 255' }) inputDtype!: string;
  @ApiProperty({ type: 'integer' }) classCount!: number;
  @ApiProperty({ type: [String], nullable: true, description: 'Class names (folder names of an archive), or null' }) classNames!: string[] | null;
  @ApiProperty({ type: NormalizationDto, description: 'Applied when examples become model inputs; stored inputs are never changed' }) normalization!: NormalizationDto;
  @ApiProperty({ type: DatasetSplitsDto }) splits!: DatasetSplitsDto;
  @ApiProperty({ type: DatasetBlobDto }) blob!: DatasetBlobDto;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class DatasetPageDto {
  @ApiProperty({ type: [DatasetDto] }) items!: DatasetDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

/** JSON body of POST /v1/datasets: a builtin dataset. */
export class CreateDatasetDto {
  @ApiProperty({ example: 'fashion-mnist', description: 'fashion-mnist (70,000 images) or mnist (10,000)' })
  @IsString()
  @Length(1, 100)
  builtin!: string;

  @ApiPropertyOptional({ description: 'Display name; defaults to the builtin name' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_DATASET_SEED, default: 0, description: 'Seed of the stratified split' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_DATASET_SEED)
  seed?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, description: "Fraction of each class in validation (default: the builtin's, fashion-mnist 1/14, mnist 0.1)" })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  validation?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, description: "Fraction of each class in test (default: the builtin's, fashion-mnist 1/7, mnist 0.2)" })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  test?: number;
}

/** Multipart body of POST /v1/datasets/upload (documentation only; parsed by streaming). */
export class UploadDatasetDto {
  @ApiProperty({
    type: 'string',
    format: 'binary',
    description: 'A dataset safetensors file (`inputs` N×C×H×W F32 or U8, integer `labels` N) or an image-folder archive (zip, tar, tar.gz; one folder per class; PNG and JPEG)',
  })
  file!: unknown;
  @ApiPropertyOptional({ description: 'Display name; defaults to the file name without extension' }) name?: string;
  @ApiPropertyOptional({ type: 'integer', default: 0, description: 'Seed of the stratified split' }) seed?: number;
  @ApiPropertyOptional({ default: 0.1, description: 'Fraction of each class in validation' }) validation?: number;
  @ApiPropertyOptional({ default: 0.2, description: 'Fraction of each class in test' }) test?: number;
  @ApiPropertyOptional({ type: 'integer', description: "Safetensors only: the class count (default: the file's class_count metadata, else the largest label + 1)" }) classCount?: number;
  @ApiPropertyOptional({ type: 'integer', description: 'Archives (required): height every image is resized to' }) height?: number;
  @ApiPropertyOptional({ type: 'integer', description: 'Archives (required): width every image is resized to' }) width?: number;
  @ApiPropertyOptional({ type: 'integer', enum: [1, 3], description: "Archives: 1 (gray) or 3 (RGB); default: the first image's" }) channels?: number;
}

export class ListDatasetsQueryDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  name?: string;

  @ApiPropertyOptional({ enum: DATASET_SOURCES, enumName: 'DatasetSource' })
  @IsOptional()
  @IsIn(DATASET_SOURCES)
  source?: (typeof DATASET_SOURCES)[number];
}
