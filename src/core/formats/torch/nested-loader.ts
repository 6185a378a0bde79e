import type { RandomAccessSource } from '../../io/random-access';
import { sliceSource } from './source-slice';
import { bufferSource } from '../../io/random-access';
import { SourceBytes } from './pickle-values';
import type { PickleContext } from './allowlist';

/** Loads the root object of a torch.save byte string embedded in another pickle. */
export type NestedLoader = (source: RandomAccessSource) => Promise<unknown>;

/** A pickle context whose torch.storage._load_from_bytes runs `loadNested` on the payload. */
export function nestedContext(loadNested: NestedLoader): PickleContext {
  return {
    loadFromBytes(payload) {
      const source = payload instanceof SourceBytes ? sliceSource(payload.source, payload.offset, payload.length) : bufferSource(payload);
      return loadNested(source);
    },
  };
}
