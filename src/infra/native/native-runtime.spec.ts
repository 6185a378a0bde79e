import { activeNativeKernels, setActiveNativeKernels } from '../../core/runtime/native';
import { nativeKernelsOff } from '../../../test/utils/native-kernels';
import { probeNativeKernels, startNativeKernels } from './native-runtime';

describe('native kernels at start', () => {
  afterEach(() => setActiveNativeKernels(null));

  it('off: the training ops stay on TF.js, and the status says why', () => {
    const status = startNativeKernels({ kernels: 'off', threads: null });
    expect(status).toEqual({ active: false, kernels: [], version: null, threads: null, reason: 'WEIGHTSMITH_NATIVE_KERNELS=off' });
    expect(activeNativeKernels()).toBeNull();
  });

  it('auto: the training ops use the addon with the thread count asked for (a missing addon fails unless the suite runs without it)', () => {
    const status = startNativeKernels({ kernels: 'auto', threads: 1 });
    if (nativeKernelsOff()) {
      expect(status.active).toBe(activeNativeKernels() !== null);
      return;
    }
    expect(status).toMatchObject({ active: true, threads: 1, reason: null, kernels: expect.arrayContaining(['conv2d', 'conv2d_backward_data', 'conv2d_backward_weights']) as unknown });
    expect(status.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(activeNativeKernels()).not.toBeNull();
  });

  it('a probe reports the same without making this thread use the kernels', () => {
    const status = probeNativeKernels({ kernels: 'auto', threads: 1 });
    expect(activeNativeKernels()).toBeNull();
    if (!nativeKernelsOff()) expect(status.active).toBe(true);
    expect(probeNativeKernels({ kernels: 'off', threads: null }).active).toBe(false);
  });
});
