import { CoreError } from '../../core/errors';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { bindWeight, usedInitializers, type TensorBytes } from '../../core/runtime';
import type { Dtype } from '../../core/tensor/dtypes';

/** What a checkpoint's manifest says about one tensor. */
export interface WeightInfo {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
}

/** Mismatches listed in an error; the count says how many there were in all. */
export const MAX_LISTED_MISMATCHES = 10;

const NO_BYTES = new Uint8Array(0);

/**
 * Checks, from the manifest alone, that every initializer the graph reads can be bound by name
 * (or by its exporter alias) with the graph's shape and a dtype of the same family. Returns the
 * problems, one line each, in graph order (empty when the weights fit).
 */
export function weightMismatches(graph: ArchitectureGraph, manifest: readonly WeightInfo[]): string[] {
  const byName = new Map<string, TensorBytes>(manifest.map((e) => [e.name, { dtype: e.dtype, shape: e.shape, data: NO_BYTES }]));
  const problems: string[] = [];
  for (const init of usedInitializers(graph)) {
    try {
      bindWeight(init, byName);
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      problems.push(e.message);
    }
  }
  return problems;
}

/** The stored names the graph's initializers bind to (their own name, else their alias). */
export function boundNames(graph: ArchitectureGraph, manifest: readonly WeightInfo[]): Set<string> {
  const present = new Set(manifest.map((e) => e.name));
  const names = new Set<string>();
  for (const init of usedInitializers(graph)) {
    if (present.has(init.name)) names.add(init.name);
    else if (init.aliasOf !== undefined) names.add(init.aliasOf);
  }
  return names;
}

