import { CoreError } from '../errors';

/** Top-1 and top-5 accuracy (fractions) and mean cross-entropy over the examples seen. */
export interface ClassificationMetrics {
  top1: number;
  /** Null when there are fewer than 5 classes. */
  top5: number | null;
  loss: number;
  count: number;
}

/**
 * Accumulates classification metrics over batches of logits (N × classCount, row-major): top-1 and
 * top-5 accuracy and the mean cross-entropy (log-softmax in float64, no label smoothing), like
 * torch's `cross_entropy(reduction='sum') / count`. An example is in the top k when fewer than k
 * classes have a strictly larger logit (ties count in its favour).
 */
export class ClassificationAccumulator {
  private correct1 = 0;
  private correct5 = 0;
  private lossSum = 0;
  private count = 0;

  constructor(private readonly classCount: number) {
    if (!Number.isSafeInteger(classCount) || classCount < 1) throw new CoreError('INVALID_ARGUMENT', `classCount must be a positive integer, got ${classCount}`);
  }

  add(logits: ArrayLike<number>, labels: ArrayLike<number>): void {
    const k = this.classCount;
    if (logits.length !== labels.length * k) {
      throw new CoreError('INVALID_ARGUMENT', `expected ${labels.length} × ${k} logits, got ${logits.length} values`, { expected: labels.length * k, got: logits.length });
    }
    for (let i = 0; i < labels.length; i++) {
      const row = i * k;
      const label = labels[i];
      const target = logits[row + label];
      let max = -Infinity;
      let above = 0;
      for (let c = 0; c < k; c++) {
        const v = logits[row + c];
        if (v > max) max = v;
        if (v > target) above++;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(logits[row + c] - max);
      this.lossSum += Math.log(sum) + max - target;
      if (above < 1) this.correct1++;
      if (above < 5) this.correct5++;
      this.count++;
    }
  }

  result(): ClassificationMetrics {
    if (this.count === 0) throw new CoreError('DATASET_EMPTY', 'no examples were evaluated');
    return { top1: this.correct1 / this.count, top5: this.classCount >= 5 ? this.correct5 / this.count : null, loss: this.lossSum / this.count, count: this.count };
  }
}
