import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from './select-backend';

/** On the CI machines (no GPU, no tfjs-node): auto walks past tensorflow and webgpu to wasm, saying why. */
describe('selectBackend', () => {
  beforeAll(() => tf.env().set('IS_TEST', true));

  it('auto falls back to wasm and records why tensorflow and webgpu were skipped', async () => {
    const selection = await selectBackend('auto');
    expect(selection.backend).toBe('wasm');
    expect(selection.skipped.map((s) => s.backend)).toEqual(['tensorflow', 'webgpu']);
    expect(selection.skipped[1].reason).toMatch(/Vulkan loader|no GPU adapter/);
  });

  it('an explicit backend that cannot start fails with the reason', async () => {
    await expect(selectBackend('webgpu')).rejects.toThrow(/no usable tensor backend: webgpu: (the Vulkan loader|no GPU adapter)/);
  });

  it('an explicit cpu backend is used as asked', async () => {
    expect((await selectBackend('cpu')).backend).toBe('cpu');
  });
});
