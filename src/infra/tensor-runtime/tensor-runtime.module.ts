import { Global, Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import * as tf from '@tensorflow/tfjs-core';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { probeNativeKernels, type NativeKernelStatus } from '../native/native-runtime';
import { selectBackend, type BackendSelection } from './select-backend';

/** Owns the tfjs backend: selected once at start; services never call tf.setBackend. */
@Injectable()
export class TensorRuntime implements OnModuleInit {
  private readonly logger = new Logger(TensorRuntime.name);
  private selection: BackendSelection | null = null;
  private native: NativeKernelStatus | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    this.selection = await selectBackend(this.config.backend);
    this.logger.log({ msg: 'tensor backend selected', ...this.selection });
    this.native = probeNativeKernels(this.config.native);
    this.logger.log({ msg: this.native.active ? 'native kernels active for training' : 'native kernels inactive: training runs on TF.js only', ...this.native });
  }

  status(): { ready: boolean; backend: string | null; requested: string; skipped: BackendSelection['skipped']; numTensors: number; numBytes: number; native: NativeKernelStatus | null } {
    const mem = tf.memory();
    return {
      ready: this.selection !== null && tf.getBackend() === this.selection.backend,
      backend: this.selection?.backend ?? null,
      requested: this.config.backend,
      skipped: this.selection?.skipped ?? [],
      numTensors: mem.numTensors,
      numBytes: mem.numBytes,
      native: this.native,
    };
  }
}

@Global()
@Module({ providers: [TensorRuntime], exports: [TensorRuntime] })
export class TensorRuntimeModule {}
