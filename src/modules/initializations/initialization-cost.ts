import type { ArchitectureGraph } from '../../core/graph';
import { initializationCost } from '../../core/init';
import type { InitializationMethod } from './initialization.types';

/**
 * What an initialization costs, in seconds, from measured rates: the one place that decides
 * whether a request is computed while the client waits (201) or handed to a job (202).
 *
 * Wall-clock rates on the 2-core benchmark machine, as bench/results record them:
 * - per parameter, drawing and serializing the values (bench/results/init-rates.json, the slowest
 *   of squeezenet1_1, mobilenet_v3_small and resnet18): torch-default 7.5e-8 s, kaiming 3.3e-7 s;
 *   orthogonal draws the same Gaussian values as kaiming. A GHN fills what it predicts at 2.9e-9 s
 *   (bench/results/ghn-predict.json, `fillSeconds` of vit_b_16);
 * - per floating-point operation of orthogonal's QR products: 3.0e-10 s (init-rates.json,
 *   resnet18, the largest QR work; smaller models' QRs cost more per operation but take seconds);
 * - per GHN parameter: ghn3xlm16 (654 M parameters, cpu backend) predicts a model in 98–201 s
 *   (ghn-predict.json), 3.1e-7 s; ghn3tm8 (6.9 M) takes 0.2–0.7 s;
 * - per stored byte: 1.05e-8 s, the S3 store's 95 MB/s, the slower store (upload-download.json).
 * The machine was shared (load average 12 on 2 cores), so the figures vary between runs: that run
 * drew an orthogonal resnet18 in 8.3 s; whole requests for it took 11.9–21 s (worker start, moving
 * and storing the bytes). It is estimated at 10.5 s, a kaiming resnet50 at 9.5 s.
 */
export const INITIALIZATION_RATES = {
  secondsPerParameter: { 'torch-default': 7.5e-8, kaiming: 3.3e-7, orthogonal: 3.3e-7, ghn: 2.9e-9 } satisfies Record<InitializationMethod, number>,
  secondsPerQrFlop: 3.0e-10,
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
