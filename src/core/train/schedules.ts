import type { ScheduleConfig } from './training-config';

/** torch.optim.lr_scheduler.LinearLR's default start factor. */
export const DEFAULT_WARMUP_START_FACTOR = 1 / 3;

/**
 * The learning rate of step `step` (0-based: the lr the optimizer uses on that step, i.e. after
 * `step` calls of a PyTorch scheduler's step()) out of `totalSteps`, in closed form:
 * - warm-up (warmupSteps W > 0): torch LinearLR from warmupStartFactor to 1 over W steps, then the
 *   main schedule restarted at 0 over the remaining totalSteps − W steps (torch SequentialLR);
 * - constant: baseLr;
 * - step: baseLr · gamma^⌊t / stepSize⌋ (StepLR);
 * - cosine: minLr + (baseLr − minLr)·(1 + cos(π·t / T))/2 with T = totalSteps − W (CosineAnnealingLR).
 */
export function learningRateAt(schedule: ScheduleConfig, baseLr: number, step: number, totalSteps: number): number {
  const warmup = schedule.warmupSteps ?? 0;
  if (step < warmup) {
    const start = schedule.warmupStartFactor ?? DEFAULT_WARMUP_START_FACTOR;
    return baseLr * (start + ((1 - start) * step) / warmup);
  }
  const t = step - warmup;
  switch (schedule.name) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * (schedule.gamma ?? 0.1) ** Math.floor(t / (schedule.stepSize ?? 1));
    case 'cosine': {
      const minLr = schedule.minLr ?? 0;
      const span = Math.max(1, totalSteps - warmup);
      return minLr + ((baseLr - minLr) * (1 + Math.cos((Math.PI * Math.min(t, span)) / span))) / 2;
    }
  }
}
