import { CoreError } from '../errors';

/**
 * Scores a soup given by its mixing weights over the candidates (same order as the candidate
 * ids; the weights of a soup sum to 1 and are uniform over its ingredients). Higher is better.
 * The service plugs in a held-out evaluation; it must be deterministic.
 */
export type SoupScorer = (weights: readonly number[]) => Promise<number>;

export interface GreedySoupOptions {
  /** 'gt' (default, the official code): accept a candidate only when the score rises; 'gte': also on ties. */
  acceptRule?: 'gt' | 'gte';
  /** Held-out scores of the candidates alone, when already known (skips those evaluations). */
  individualScores?: readonly number[];
}

export interface GreedySoupStep {
  id: string;
  /** The tentative soup's weights over all candidates. */
  weights: number[];
  score: number;
  accepted: boolean;
}

export interface GreedySoupResult {
  /** Candidates by individual score, descending; ties by id ascending. */
  ranking: { id: string; score: number }[];
  /** One step per candidate after the first, in ranking order. */
  steps: GreedySoupStep[];
  /** Accepted ingredients, in acceptance order (the best candidate first). */
  kept: string[];
  /** Final mixing weights over the candidates (uniform over the kept ones). */
  weights: number[];
  score: number;
  /** How many times the scorer ran. */
  evaluations: number;
}

function uniformOver(indices: readonly number[], total: number): number[] {
  const weights = new Array<number>(total).fill(0);
  for (const i of indices) weights[i] = 1 / indices.length;
  return weights;
}

/**
 * The greedy soup: rank candidates by their own held-out score, start from the best, and try
 * each other candidate once, in rank order, keeping it only if the uniform soup of the kept
 * ingredients plus it scores higher (or equal, with acceptRule 'gte'). The result never scores
 * below the best single candidate on the held-out data.
 */
export async function greedySoup(ids: readonly string[], score: SoupScorer, options: GreedySoupOptions = {}): Promise<GreedySoupResult> {
  if (ids.length === 0) throw new CoreError('SOUP_INGREDIENTS_EMPTY', 'a greedy soup needs at least one candidate');
  if (new Set(ids).size !== ids.length) throw new CoreError('SOUP_PARAMETERS_INVALID', 'candidate ids must be distinct', { ids });
  const acceptRule = options.acceptRule ?? 'gt';
  if (acceptRule !== 'gt' && acceptRule !== 'gte') throw new CoreError('SOUP_PARAMETERS_INVALID', `acceptRule must be gt or gte, got ${String(acceptRule)}`);
  const known = options.individualScores;
  if (known && known.length !== ids.length) throw new CoreError('SOUP_PARAMETERS_INVALID', `${known.length} individual scores for ${ids.length} candidates`);
  let evaluations = 0;
  const evaluate = async (weights: number[]): Promise<number> => {
    evaluations++;
    const s = await score(weights);
    if (typeof s !== 'number' || Number.isNaN(s)) throw new CoreError('SOUP_PARAMETERS_INVALID', `the scorer returned ${String(s)}`);
    return s;
  };
  const individual: number[] = [];
  for (let i = 0; i < ids.length; i++) individual.push(known ? known[i] : await evaluate(uniformOver([i], ids.length)));
  const order = ids.map((_, i) => i).sort((a, b) => individual[b] - individual[a] || (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));

  const kept = [order[0]];
  let best = individual[order[0]];
  const steps: GreedySoupStep[] = [];
  for (const candidate of order.slice(1)) {
    const weights = uniformOver([...kept, candidate], ids.length);
    const tentative = await evaluate(weights);
    const accepted = acceptRule === 'gt' ? tentative > best : tentative >= best;
    steps.push({ id: ids[candidate], weights, score: tentative, accepted });
    if (accepted) {
      kept.push(candidate);
      best = tentative;
    }
  }
  return {
    ranking: order.map((i) => ({ id: ids[i], score: individual[i] })),
    steps,
    kept: kept.map((i) => ids[i]),
    weights: uniformOver(kept, ids.length),
    score: best,
    evaluations,
  };
}

/**
 * The starting point of a learned soup: mixing logits at 0 (per model, or per tensor × model),
 * so that the softmax weights are exactly 1/k (the uniform soup), and a logit temperature of 1.
 */
export function learnedSoupInit(models: number, tensors = 1): { logits: Float64Array[]; weights: Float64Array[]; temperature: number } {
  if (!Number.isSafeInteger(models) || models < 1) throw new CoreError('SOUP_INGREDIENTS_EMPTY', 'a learned soup needs at least one model');
  const logits = Array.from({ length: tensors }, () => new Float64Array(models));
  return { logits, weights: logits.map(softmax), temperature: 1 };
}

/** Softmax in float64, shifted by the maximum (exactly 1/k for equal logits). */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = Float64Array.from(logits, (v) => Math.exp(v - max));
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / sum);
}
