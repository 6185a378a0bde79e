import type { ArchitectureGraph } from '../../core/graph';
import { initializationCost } from '../../core/init';
import type { InitializationMethod } from './initialization.types';

/**
 * What an initialization costs, in seconds, from measured rates: the one place that decides
 * whether a request is computed while the client waits (201) or handed to a job (202).
 *
 * Measured on the reference machine of bench/results (2 AMD EPYC cores, Node 20, tf wasm backend
 * for the QR products), each rate the slowest seen, rounded up:
 * - per parameter: drawing and serializing the values (initializationTensors + writeSafetensors on
 *   squeezenet1_1, mobilenet_v3_small and resnet18): torch-default 7.1e-8 s, kaiming and the
 *   Gaussian draw of orthogonal 2.4e-7 s; a GHN fills what it predicts at 2.9e-9 s
 *   (bench/results/ghn-predict.json, `fillSeconds` of vit_b_16);
 * - per floating-point operation of orthogonal's QR products (`initializationCost` less the draw):
 *   2.7e-10 s (resnet18) to 4.2e-10 s (squeezenet1_1);
 * - per GHN parameter: ghn3xlm16 (654 M parameters, cpu backend) predicts one model in 98–201 s
 *   (bench/results/ghn-predict.json), 3.1e-7 s; ghn3tm8 (6.9 M) takes 0.2–0.7 s;
 * - per stored byte: the S3 store takes 95 MB/s, the slower store (bench/results/upload-download.json).
 * With these rates an orthogonal resnet18 is estimated at 11.6 s (the whole request took 11.9 s).
 */
export const INITIALIZATION_RATES = {
  secondsPerParameter: { 'torch-default': 7.5e-8, kaiming: 2.5e-7, orthogonal: 2.5e-7, ghn: 3e-9 } satisfies Record<InitializationMethod, number>,
  secondsPerQrFlop: 4.2e-10,
  secondsPerGhnParameter: 3.1e-7,
  secondsPerStoredByte: 1.05e-8,
} as const;

export interface InitializationWork {
  method: InitializationMethod;
  /** Parameters (and buffers) of the architecture: the values drawn or filled and stored. */
  parameterCount: number;
  /** Floating-point operations of orthogonal's QR products (0 for the other methods). */
  qrFlops: number;
  /** Parameters of the GHN that predicts (0 for the other methods). */
  ghnParameterCount: number;
}

/** Floating-point operations of the QR products of an orthogonal initialization of `graph`. */
export function orthogonalQrFlops(graph: ArchitectureGraph): number {
  return initializationCost(graph, 'orthogonal') - initializationCost(graph, 'kaiming');
}

/** Estimated seconds of an initialization: drawing or predicting, then storing float32 values. */
export function estimateInitializationSeconds(work: InitializationWork, rates = INITIALIZATION_RATES): number {
  return (
    work.parameterCount * (rates.secondsPerParameter[work.method] + 4 * rates.secondsPerStoredByte) +
    work.qrFlops * rates.secondsPerQrFlop +
    work.ghnParameterCount * rates.secondsPerGhnParameter
  );
}

/** Why the work goes to a job (its estimate is over `inlineSeconds`, WEIGHTSMITH_INLINE_WORK_SECONDS), or null to compute it now. */
export function jobReasonFor(work: InitializationWork, inlineSeconds: number): string | null {
  const seconds = estimateInitializationSeconds(work);
  return seconds > inlineSeconds ? `estimated ${seconds.toFixed(1)} s (inline limit ${inlineSeconds} s)` : null;
}
