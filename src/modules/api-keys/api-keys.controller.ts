import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../http/api-problems.decorator';
import { RequireScope, type Scope } from '../../http/auth.decorators';
import type { ApiKey } from './api-key.types';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyDto, ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

function toDto(k: ApiKey): ApiKeyDto {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes as Scope[],
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

@ApiTags('api-keys')
@ApiBearerAuth()
@RequireScope('admin')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @ApiOperation({ summary: 'Create an API key' })
  @Post()
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiProblems(400)
  async createApiKey(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const { apiKey, key } = await this.keys.create(body.name, body.scopes);
    return { ...toDto(apiKey), key };
  }

  @ApiOperation({ summary: 'List API keys' })
  @Get()
  @ApiOkResponse({ type: ApiKeyListDto })
  @ApiProblems()
  async listApiKeys(): Promise<ApiKeyListDto> {
    return { items: (await this.keys.list()).map(toDto) };
  }

  /** Revokes a key; 409 API_KEY_LAST_ADMIN for the last active admin key (create another admin key first). */
  @ApiOperation({ summary: 'Revoke an API key' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Delete(':id')
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiProblems(400, 404, 409)
  async revokeApiKey(@Param('id', new ParseUUIDPipe()) id: string): Promise<ApiKeyDto> {
    return toDto(await this.keys.revoke(id));
  }
}
