import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { GHN_IMPLS } from '../../../core/ghn';
import { PageQueryDto } from '../../../http/dto/page-query.dto';
import { GHN_SOURCES } from '../ghn.types';

/** The fixtures' `ghn/<cfg>.json` layout; its keys keep the official code's snake_case names. */
export class GhnConfigDocumentDto {
  @ApiProperty({ enum: GHN_IMPLS, enumName: 'GhnImpl', description: 'Forward pass: the ghn3 code (GHN-3, or GHN-2 mode) or the ppuda code' })
  impl!: string;
  @ApiProperty({ enum: GHN_IMPLS, enumName: 'GhnBuilder', description: 'Graph builder whose graphs the GHN reads' })
  graph_builder!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "Arguments of the official constructor (ghn3's GHN3 or ppuda's GHN)",
    example: { hid: 64, max_shape: [64, 64, 16, 16], num_classes: 1000, heads: 8, layers: 3, is_ghn2: false, weight_norm: true, ve: true, layernorm: true, pretrained: false },
  })
  ctor_config!: Record<string, unknown>;
}

export class GhnDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'ghn3tm8', description: 'Unique name' }) name!: string;
  @ApiProperty({ format: 'uuid', description: 'Checkpoint (kind `ghn`) holding the weights as safetensors with their state_dict names' })
  checkpointId!: string;
  @ApiProperty({ type: GhnConfigDocumentDto }) config!: GhnConfigDocumentDto;
  @ApiProperty({ enum: GHN_IMPLS, enumName: 'GhnImpl' }) impl!: string;
  @ApiProperty({ description: 'True for a GHN-2 (gated GNN); false for a GHN-3 (Graphormer)' }) isGhn2!: boolean;
  @ApiProperty({ type: 'integer', example: 64, description: 'Hidden size' }) hid!: number;
  @ApiProperty({ type: 'integer', example: 3, description: 'Graphormer layers (0 for a GHN-2)' }) layers!: number;
  @ApiProperty({ type: 'integer', format: 'int64', example: 6906632, description: 'Elements over all weight tensors' }) parameterCount!: number;
  @ApiProperty({ enum: GHN_SOURCES, enumName: 'GhnSource' }) source!: string;
  @ApiProperty({ description: 'sha256 of the file as uploaded or fetched, before conversion to safetensors' }) sourceSha256!: string;
  @ApiProperty({ description: 'Whether requests that name no GHN use this one' }) isDefault!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class GhnPageDto {
  @ApiProperty({ type: [GhnDto] }) items!: GhnDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` to get the next page' }) nextCursor!: string | null;
}

/** Multipart body of POST /v1/ghns (documentation only; parsed by streaming). */
export class UploadGhnDto {
  @ApiProperty({
    type: 'string',
    format: 'binary',
    description: 'An official GHN checkpoint: a joblib .pt (ghn3tm8.pt, ...), a torch.save .pt ({state_dict, config, ...}) or safetensors',
  })
  file!: unknown;
  @ApiPropertyOptional({ description: 'Unique name; defaults to the file name without extension' }) name?: string;
  @ApiPropertyOptional({
    description:
      "JSON config, {impl, graph_builder, ctor_config} as in the fixtures' ghn/<cfg>.json, as a text field or a file part (`-F config=@ghn.json`, at most 256 KiB). Default: the file's own `config` entry, else inferred from the tensor names and shapes",
    example: '{"impl":"ghn3","graph_builder":"ghn3","ctor_config":{"hid":64,"max_shape":[64,64,16,16],"num_classes":1000,"layers":3}}',
  })
  config?: string;
}

export class ListGhnsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'ghn3tm8' })
  @IsOptional()
  @IsString()
  name?: string;
}
