import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Response } from 'express';
import { Public } from '../../http/auth.decorators';
import { Metrics } from '../../infra/metrics/metrics';
import { TensorRuntime } from '../../infra/tensor-runtime/tensor-runtime.module';
import { HealthService } from './health.service';

class LivenessDto {
  @ApiProperty({ example: 'ok' }) status!: string;
}

class ReadinessDto {
  @ApiProperty({ enum: ['ready', 'not_ready'] }) status!: 'ready' | 'not_ready';
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'database, blobStore and backend checks' })
  checks!: Record<string, unknown>;
}

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly metrics: Metrics,
    private readonly runtime: TensorRuntime,
  ) {}

  @ApiOperation({ summary: 'Liveness probe' })
  @Get('health/live')
  @ApiOkResponse({ type: LivenessDto })
  getLiveness(): LivenessDto {
    return { status: 'ok' };
  }

  /** 200 when the database, the blob store and the tensor backend work; 503 otherwise. */
  @ApiOperation({ summary: 'Readiness probe' })
  @Get('health/ready')
  @ApiOkResponse({ type: ReadinessDto })
  @ApiServiceUnavailableResponse({ type: ReadinessDto })
  async getReadiness(@Res({ passthrough: true }) res: Response): Promise<ReadinessDto> {
    const { ready, checks } = await this.health.readiness();
    if (!ready) res.status(503);
    return { status: ready ? 'ready' : 'not_ready', checks };
  }

  /** Prometheus text exposition. */
  @ApiOperation({ summary: 'Prometheus metrics' })
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOkResponse({ content: { 'text/plain': { schema: { type: 'string' } } } })
  async getMetrics(): Promise<string> {
    const rt = this.runtime.status();
    this.metrics.tensorCount.set(rt.numTensors);
    this.metrics.tensorBytes.set(rt.numBytes);
    return this.metrics.registry.metrics();
  }
}
