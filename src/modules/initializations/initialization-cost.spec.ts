import { buildZooModel } from '../../core/graph/zoo';
import { loadConfig } from '../../infra/config/app-config';
import { estimateInitializationSeconds, jobReasonFor, orthogonalQrFlops, type InitializationWork } from './initialization-cost';
import type { InitializationMethod } from './initialization.types';

const parameters = (graph: ReturnType<typeof buildZooModel>): number => graph.initializers.reduce((n, i) => n + i.shape.reduce((a, b) => a * b, 1), 0);
const GHN3TM8_PARAMETERS = 6_906_632;
const GHN3XLM16_PARAMETERS = 654_365_184;

describe('initialization cost estimate', () => {
  const resnet18 = buildZooModel('resnet18');
  const limit = loadConfig({}).jobs.inlineWorkSeconds;
  const work = (method: InitializationMethod, extra: Partial<InitializationWork> = {}): InitializationWork => ({
    method,
    parameterCount: parameters(resnet18),
    qrFlops: method === 'orthogonal' ? orthogonalQrFlops(resnet18) : 0,
    ghnParameterCount: 0,
    ...extra,
  });

  it('sends work over the documented ~10 s to a job: orthogonal resnet18 (11.9–21 s measured) goes to a job', () => {
    expect(limit).toBe(10);
    const seconds = estimateInitializationSeconds(work('orthogonal'));
    expect(seconds).toBeGreaterThan(10);
    expect(seconds).toBeLessThan(21);
    expect(jobReasonFor(work('orthogonal'), limit)).toMatch(/^estimated 1\d\.\d s \(inline limit 10 s\)$/);
  });

  it('computes cheap work during the request', () => {
    for (const method of ['kaiming', 'torch-default'] as const) {
      expect(estimateInitializationSeconds(work(method))).toBeLessThan(5);
      expect(jobReasonFor(work(method), limit)).toBeNull();
    }
    expect(jobReasonFor(work('ghn', { ghnParameterCount: GHN3TM8_PARAMETERS }), limit)).toBeNull();
    expect(jobReasonFor(work('kaiming', { parameterCount: 25_557_032 }), limit)).toBeNull(); // resnet50
    expect(jobReasonFor(work('orthogonal'), 60)).toBeNull(); // a higher configured limit keeps it inline
  });

  it('grows with the architecture and the GHN', () => {
    expect(jobReasonFor(work('ghn', { ghnParameterCount: GHN3XLM16_PARAMETERS }), limit)).not.toBeNull();
    expect(jobReasonFor(work('torch-default', { parameterCount: 100_000_000 }), limit)).not.toBeNull();
    expect(estimateInitializationSeconds(work('kaiming', { parameterCount: 2 * parameters(resnet18) }))).toBeCloseTo(2 * estimateInitializationSeconds(work('kaiming')), 6);
    expect(orthogonalQrFlops(resnet18)).toBeGreaterThan(1e10);
  });
});
