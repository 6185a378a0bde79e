import { CoreError } from '../errors';
import type { SafetensorsHeader } from '../formats/safetensors';

/** An ingredient as far as compatibility goes: its header, and optionally its recorded lineage. */
export interface IngredientHeader {
  label: string;
  header: SafetensorsHeader;
  /** The pre-trained checkpoint it was fine-tuned from (id or sha256), when known. */
  lineage?: string | null;
}

/** How many differences an error lists. */
export const MAX_LISTED_DIFFERENCES = 10;

/** Metadata keys that name an architecture: ingredients that both carry one must agree. */
const ARCHITECTURE_KEYS = ['architecture', 'weightsmith.architecture'];

/**
 * The first differences between a reference ingredient and the others: tensor names, shapes,
 * dtypes, recorded architecture and lineage. Empty when they can be merged.
 */
export function ingredientDifferences(reference: IngredientHeader, others: readonly IngredientHeader[], limit = MAX_LISTED_DIFFERENCES): string[] {
  const differences: string[] = [];
  const add = (text: string): boolean => {
    if (differences.length < limit) differences.push(text);
    return differences.length < limit;
  };
  const refTensors = new Map(reference.header.tensors.map((t) => [t.name, t]));
  for (const other of others) {
    for (const key of ARCHITECTURE_KEYS) {
      const a = reference.header.metadata?.[key];
      const b = other.header.metadata?.[key];
      if (a !== undefined && b !== undefined && a !== b && !add(`${other.label}: architecture ${JSON.stringify(b)} differs from ${reference.label}'s ${JSON.stringify(a)}`)) return differences;
    }
    if (reference.lineage && other.lineage && reference.lineage !== other.lineage) {
      if (!add(`${other.label}: fine-tuned from ${other.lineage}, ${reference.label} from ${reference.lineage}`)) return differences;
    }
    const seen = new Set<string>();
    for (const t of other.header.tensors) {
      seen.add(t.name);
      const r = refTensors.get(t.name);
      let text: string | null = null;
      if (!r) text = `${other.label}: extra tensor ${t.name}`;
      else if (r.dtype !== t.dtype) text = `${other.label}: ${t.name} is ${t.dtype}, ${reference.label}'s is ${r.dtype}`;
      else if (r.shape.length !== t.shape.length || r.shape.some((d, i) => d !== t.shape[i])) {
        text = `${other.label}: ${t.name} has shape [${t.shape.join(', ')}], ${reference.label}'s [${r.shape.join(', ')}]`;
      }
      if (text && !add(text)) return differences;
    }
    for (const name of refTensors.keys()) {
      if (!seen.has(name) && !add(`${other.label}: missing tensor ${name}`)) return differences;
    }
  }
  return differences;
}

/** Refuses ingredients that differ (SOUP_INGREDIENTS_INCOMPATIBLE), listing the first differences. */
export function checkIngredientsCompatible(reference: IngredientHeader, others: readonly IngredientHeader[]): void {
  const differences = ingredientDifferences(reference, others);
  if (differences.length === 0) return;
  throw new CoreError('SOUP_INGREDIENTS_INCOMPATIBLE', `the ingredients cannot be merged: ${differences.slice(0, 3).join('; ')}${differences.length > 3 ? '; ...' : ''}`, {
    differences,
  });
}
