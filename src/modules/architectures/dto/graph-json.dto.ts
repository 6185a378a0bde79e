import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DTYPES } from '../../../core/tensor/dtypes';
import { GHN_PRIMITIVES } from '../../../core/graph/ghn';
import { GRAPH_JSON_FORMAT } from '../../../core/graph/graph-json';
import { GHN_BUILDERS } from '../architecture.types';

/*
 * The two graph documents: the canonical graph (weightsmith.graph/v1, camelCase; GRAPH_FORMAT.md) and
 * the GHN graph in the fixtures' layout, whose snake_case keys are kept as the official code writes them.
 */

export const DIM_SCHEMA = { oneOf: [{ type: 'integer' }, { type: 'string', description: 'symbolic dimension, e.g. batch' }] };

export class ValueInfoDto {
  @ApiProperty({ example: 'input' }) name!: string;
  @ApiProperty({ enum: DTYPES, enumName: 'Dtype' }) dtype!: string;
  @ApiProperty({ type: 'array', items: DIM_SCHEMA, example: ['batch', 3, 224, 224] }) shape!: (number | string)[];
}

export class InitializerDto {
  @ApiProperty({ example: 'layer1.0.conv1.weight', description: 'state_dict name' }) name!: string;
  @ApiProperty({ enum: DTYPES, enumName: 'Dtype' }) dtype!: string;
  @ApiProperty({ type: 'array', items: { type: 'integer' }, example: [64, 64, 3, 3] }) shape!: number[];
  @ApiProperty({ description: 'False for buffers (running_mean, num_batches_tracked, ...)' }) isParameter!: boolean;
  @ApiPropertyOptional({ description: 'An equal earlier initializer the exporter stored this one as' }) aliasOf?: string;
}

export class GraphNodeDto {
  @ApiProperty({ example: '/layer1/layer1.0/conv1/Conv' }) name!: string;
  @ApiProperty({ example: 'Conv', description: 'ONNX op type' }) opType!: string;
  @ApiProperty({ type: [String], description: 'Value names; "" marks an omitted optional input' }) inputs!: string[];
  @ApiProperty({ type: [String] }) outputs!: string[];
  @ApiProperty({ type: 'object', additionalProperties: true, example: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }) attributes!: Record<string, unknown>;
}

export class GraphJsonDto {
  @ApiProperty({ enum: [GRAPH_JSON_FORMAT] }) format!: string;
  @ApiProperty({ example: 'resnet50' }) name!: string;
  @ApiPropertyOptional({ example: 'ResNet' }) modelClass?: string;
  @ApiProperty({ type: 'integer', example: 17 }) opset!: number;
  @ApiProperty({ type: [ValueInfoDto] }) inputs!: ValueInfoDto[];
  @ApiProperty({ type: [ValueInfoDto] }) outputs!: ValueInfoDto[];
  @ApiProperty({ type: [InitializerDto], description: 'state_dict entries in order; no weights' }) initializers!: InitializerDto[];
  @ApiProperty({ type: [GraphNodeDto], description: 'In topological order' }) nodes!: GraphNodeDto[];
  @ApiPropertyOptional({ type: [ValueInfoDto], description: 'Shapes of intermediate values when known' }) valueInfo?: ValueInfoDto[];
}

const INT_ARRAY = { type: 'array', items: { type: 'integer' } } as const;

export class GhnNodeInfoJsonDto {
  @ApiProperty({ type: 'integer' }) cell!: number;
  @ApiProperty({ example: 'layer1.0.conv1.weight' }) param_name!: string;
  @ApiProperty({ enum: GHN_PRIMITIVES, description: "The node's op" }) name!: string;
  @ApiProperty({ ...INT_ARRAY, nullable: true }) sz!: number[] | null;
  @ApiProperty() last_weight!: boolean;
  @ApiProperty() last_bias!: boolean;
}

export class GhnNodeJsonDto {
  @ApiProperty({ type: 'integer' }) index!: number;
  @ApiProperty({ example: 'layer1.0.conv1.weight', description: 'Parameter name, or an autograd-style name for op nodes' }) name!: string;
  @ApiProperty({ enum: GHN_PRIMITIVES, enumName: 'GhnPrimitive' }) op!: string;
  @ApiProperty({ type: 'integer' }) op_index!: number;
  @ApiProperty({ ...INT_ARRAY, nullable: true }) shape!: number[] | null;
  @ApiProperty({ nullable: true, type: String, example: 'Conv2d' }) module_type!: string | null;
  @ApiPropertyOptional({ type: GhnNodeInfoJsonDto }) node_info?: GhnNodeInfoJsonDto;
}

export class GhnGraphJsonDto {
  @ApiProperty({ example: 'resnet50' }) arch!: string;
  @ApiProperty({ enum: GHN_BUILDERS, enumName: 'GhnBuilder' }) builder!: string;
  @ApiProperty({ type: 'integer', example: 50 }) ve_cutoff!: number;
  @ApiProperty({ ...INT_ARRAY, example: [3, 224, 224] }) expected_input_sz!: number[];
  @ApiProperty({ type: 'integer' }) n_nodes!: number;
  @ApiProperty({ type: 'integer' }) n_cells!: number;
  @ApiProperty({ type: [String] }) primitives!: string[];
  @ApiProperty({ type: [GhnNodeJsonDto] }) nodes!: GhnNodeJsonDto[];
  @ApiProperty({ type: 'array', items: INT_ARRAY, description: 'Per node: [op_index]' }) node_feat!: number[][];
  @ApiProperty() edges_format!: string;
  @ApiProperty({ type: 'array', items: { ...INT_ARRAY, minItems: 3, maxItems: 3 }, description: '[src, dst, shortest-path distance]' })
  edges!: number[][];
  @ApiProperty(INT_ARRAY) in_degree_1hop!: number[];
  @ApiProperty(INT_ARRAY) out_degree_1hop!: number[];
  @ApiProperty(INT_ARRAY) input_dist!: number[];
}
