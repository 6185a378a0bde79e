import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { MAX_IN_CHANNELS } from '../../../core/graph/zoo';
import { ARCHITECTURE_SOURCES, GHN_BUILDERS } from '../architecture.types';
import { DIM_SCHEMA, GhnGraphJsonDto, GraphJsonDto, ValueInfoDto } from './graph-json.dto';


export class ArchitectureDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'resnet50' }) name!: string;
  @ApiProperty({ nullable: true, type: String, example: 'resnet', description: 'Zoo family; null for uploaded graphs' }) family!: string | null;
  @ApiProperty({ enum: ARCHITECTURE_SOURCES, enumName: 'ArchitectureSource' }) source!: string;
  @ApiProperty({ description: 'False for an architecture known only by a GHN graph: it predicts parameters but cannot run' })
  executable!: boolean;
  @ApiProperty({ nullable: true, type: String, example: 'ResNet', description: 'Python class of the model when known' }) modelClass!: string | null;
  @ApiProperty({ nullable: true, type: 'integer', format: 'int64', example: 25557032, description: "Trainable parameters (torchvision's num_params); null for GHN-graph-only" })
  parameterCount!: number | null;
  @ApiProperty({ nullable: true, type: 'integer', format: 'int64', description: 'Elements of buffers (BatchNorm statistics, ...)' }) bufferCount!: number | null;
  @ApiProperty({ type: 'integer', description: 'Op nodes (GHN graph nodes for a GHN-graph-only architecture)' }) nodeCount!: number;
  @ApiProperty({ nullable: true, type: 'integer', format: 'int64', description: 'Multiply-accumulates at batch 1 (Conv, Gemm, MatMul)' }) macs!: number | null;
  @ApiProperty({ nullable: true, type: 'integer', format: 'int64', description: 'FLOPs at batch 1: 2 × MACs plus elementwise work' }) flops!: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { Conv: 53, Relu: 49 },
    description: 'Nodes per ONNX op type (per GHN primitive for a GHN-graph-only architecture)',
  })
  opHistogram!: Record<string, number>;
  @ApiProperty({ type: [ValueInfoDto] }) inputs!: ValueInfoDto[];
  @ApiProperty({ type: [ValueInfoDto] }) outputs!: ValueInfoDto[];
  @ApiProperty({ description: 'sha256 identifying the graph; identical graphs are stored once' }) contentHash!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class ArchitecturePageDto {
  @ApiProperty({ type: [ArchitectureDto] }) items!: ArchitectureDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

/** JSON body of POST /v1/architectures: exactly one of `zoo`, `graph`, `ghnGraph`. */
export class CreateArchitectureDto {
  @ApiPropertyOptional({ example: 'resnet50', description: 'A zoo model name (GET /v1/zoo), built with its default arguments' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  zoo?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1_000_000, description: 'Zoo only: classifier outputs (default 1000; 10 for resnet20, resnet56 and wrn16_4)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  numClasses?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 8192, description: 'Zoo only: square input size (default 224; 299 for inception_v3; 32 for resnet20, resnet56 and wrn16_4)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(8192)
  imageSize?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_IN_CHANNELS, default: 3, description: 'Zoo only: input channels (1 for grayscale); only the first convolution changes' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_IN_CHANNELS)
  inChannels?: number;

  @ApiPropertyOptional({ description: 'Display name; defaults to the zoo name or the graph name' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({
    type: GraphJsonDto,
    description: 'A canonical graph document (format weightsmith.graph/v1). Past the JSON body limit (1 MiB by default), upload it as a multipart `file`',
  })
  @IsOptional()
  @IsObject()
  graph?: object;

  @ApiPropertyOptional({ type: GhnGraphJsonDto, description: "A GHN graph in the fixtures' JSON layout; the architecture will not be executable" })
  @IsOptional()
  @IsObject()
  ghnGraph?: object;
}

/** Multipart body of POST /v1/architectures (documentation only; parsed by streaming). */
export class UploadArchitectureDto {
  @ApiProperty({
    type: 'string',
    format: 'binary',
    description: 'An ONNX model (torch.onnx.export, no constant folding; weights are ignored), a canonical graph JSON or a GHN graph JSON',
  })
  file!: unknown;
  @ApiPropertyOptional({ description: 'Display name; defaults to the file name without extension' }) name?: string;
}

export class ListArchitecturesQueryDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  name?: string;

  @ApiPropertyOptional({ example: 'resnet' })
  @IsOptional()
  @IsString()
  family?: string;

  @ApiPropertyOptional({ enum: ARCHITECTURE_SOURCES, enumName: 'ArchitectureSource' })
  @IsOptional()
  @IsIn(ARCHITECTURE_SOURCES)
  source?: (typeof ARCHITECTURE_SOURCES)[number];

}

export class GhnGraphQueryDto {
  @ApiPropertyOptional({ enum: GHN_BUILDERS, enumName: 'GhnBuilder', description: 'Default ghn3, or the builder of a GHN-graph-only architecture' })
  @IsOptional()
  @IsIn(GHN_BUILDERS)
  builder?: 'ghn3' | 'ppuda';
}

export class ZooModelDto {
  @ApiProperty({ example: 'resnet50' }) name!: string;
  @ApiProperty({ example: 'resnet' }) family!: string;
  @ApiProperty({ nullable: true, type: String, example: 'ResNet' }) modelClass!: string | null;
  @ApiProperty({ type: 'integer', format: 'int64', example: 25557032, description: 'Trainable parameters with the default arguments' }) parameterCount!: number;
  @ApiProperty({ type: 'array', items: DIM_SCHEMA, example: ['batch', 3, 224, 224] }) inputShape!: (number | string)[];
}

export class ZooModelListDto {
  @ApiProperty({ type: [ZooModelDto] }) items!: ZooModelDto[];
}
