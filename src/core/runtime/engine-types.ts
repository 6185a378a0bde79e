import type { HostTensor } from './host-tensor';

export type EngineKind = 'tfjs' | 'onnxruntime';

/**
 * Runs one architecture graph with bound weights. Inputs and outputs are keyed by the graph's
 * value names (`input` → `logits` for zoo models); float32 in and out is the main path.
 */
export interface InferenceEngine {
  readonly kind: EngineKind;
  /** e.g. `tfjs-wasm`, `tfjs-cpu`, `onnxruntime-cpu`. */
  readonly name: string;
  run(inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  /** Frees backend memory (weights, plans, sessions). Idempotent; the engine cannot run afterwards. */
  dispose(): void;
}
