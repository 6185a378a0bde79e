import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/*
 * Open Inference Protocol bodies (documentation: the infer body is decoded by hand, in one pass,
 * never by class-validator). Wire names (`model_name`, `binary_data_size`) follow the protocol.
 */

/** The datatypes this server runs (BF16 as Triton spells it). */
const DATATYPES = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'BF16', 'FP32', 'FP64'];
/** Every datatype a request may name: the protocol's own list, refused ones included, so that such requests are well-formed. */
const REQUEST_DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'BF16', 'FP32', 'FP64', 'BYTES'];
const REFUSED_DATATYPES =
  'UINT16, UINT32, UINT64 and BYTES are protocol datatypes that no model here takes: an input using one is refused with 400 ' +
  '(`{"error": "input \'<name>\': datatype \\"UINT16\\" is not supported by this server (use one of ...)"}`) before anything runs.';
const PARAMETERS = { type: 'object' as const, additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } };

export class OipErrorDto {
  @ApiProperty({ example: "model 'resnet18' is not deployed" }) error!: string;
}

export class OipServerMetadataDto {
  @ApiProperty({ example: 'weightsmith' }) name!: string;
  @ApiProperty({ example: '0.1.0' }) version!: string;
  @ApiProperty({ type: [String], example: ['binary_tensor_data'] }) extensions!: string[];
}

export class OipServerLiveDto {
  @ApiProperty() live!: boolean;
}

export class OipServerReadyDto {
  @ApiProperty() ready!: boolean;
}

export class OipModelReadyDto {
  @ApiProperty() name!: string;
  @ApiProperty() ready!: boolean;
}

export class OipTensorMetadataDto {
  @ApiProperty({ example: 'input' }) name!: string;
  @ApiProperty({ enum: DATATYPES, enumName: 'OipDatatype', example: 'FP32' }) datatype!: string;
  @ApiProperty({ type: 'array', items: { type: 'integer', format: 'int64' }, example: [-1, 3, 224, 224], description: '-1 marks a variable dim (the batch)' }) shape!: number[];
}

export class OipModelMetadataDto {
  @ApiProperty({ example: 'resnet18' }) name!: string;
  @ApiProperty({ type: [String], example: ['1'] }) versions!: string[];
  @ApiProperty({ example: 'onnxruntime_onnx', description: '`onnxruntime_onnx` or `weightsmith_tfjs` (informational)' }) platform!: string;
  @ApiProperty({ type: [OipTensorMetadataDto] }) inputs!: OipTensorMetadataDto[];
  @ApiProperty({ type: [OipTensorMetadataDto] }) outputs!: OipTensorMetadataDto[];
}

export class OipRequestInputDto {
  @ApiProperty({ example: 'input' }) name!: string;
  @ApiProperty({ type: 'array', items: { type: 'integer', format: 'int64', minimum: 0 }, example: [1, 3, 224, 224] }) shape!: number[];
  @ApiProperty({ enum: REQUEST_DATATYPES, enumName: 'OipRequestDatatype', description: REFUSED_DATATYPES }) datatype!: string;
  @ApiPropertyOptional({ ...PARAMETERS, description: '`binary_data_size`: this tensor\'s bytes follow the JSON header' }) parameters?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'array', items: {}, description: 'Row-major values, flat or nested; omitted when binary_data_size is given' }) data?: unknown[];
}

export class OipRequestOutputDto {
  @ApiProperty({ example: 'logits' }) name!: string;
  @ApiPropertyOptional({ ...PARAMETERS, description: '`binary_data`: return this output as binary' }) parameters?: Record<string, unknown>;
}

export class OipInferRequestDto {
  @ApiPropertyOptional({ description: 'Echoed in the response' }) id?: string;
  @ApiPropertyOptional({ ...PARAMETERS, description: '`binary_data_output`: return all outputs as binary' }) parameters?: Record<string, unknown>;
  @ApiProperty({ type: [OipRequestInputDto] }) inputs!: OipRequestInputDto[];
  @ApiPropertyOptional({ type: [OipRequestOutputDto], description: 'Outputs to return (default: all)' }) outputs?: OipRequestOutputDto[];
}

export class OipResponseOutputDto {
  @ApiProperty({ example: 'logits' }) name!: string;
  @ApiProperty({ type: 'array', items: { type: 'integer', format: 'int64', minimum: 0 }, example: [1, 1000] }) shape!: number[];
  @ApiProperty({ enum: DATATYPES, enumName: 'OipDatatype' }) datatype!: string;
  @ApiPropertyOptional({ ...PARAMETERS, description: '`binary_data_size` when the output follows the JSON header as bytes' }) parameters?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'array', items: {}, description: 'Row-major values (absent for binary outputs)' }) data?: unknown[];
}

export class OipInferResponseDto {
  @ApiProperty({ example: 'resnet18' }) model_name!: string;
  @ApiPropertyOptional({ example: '1' }) model_version?: string;
  @ApiPropertyOptional({ description: 'The request id, echoed' }) id?: string;
  @ApiProperty({ type: [OipResponseOutputDto] }) outputs!: OipResponseOutputDto[];
}
