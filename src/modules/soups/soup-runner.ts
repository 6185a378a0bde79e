import { Injectable } from '@nestjs/common';
import { greedySoup, planSoup, type SoupParametersInput, type SoupPlan, type SoupSource } from '../../core/averaging';
import { encodeFromFloat64 } from '../../core/averaging/numeric';
import type { LazyTensor } from '../../core/formats/tensor-set';
import type { TensorBytes } from '../../core/runtime';
import { hostTensorFromBytes, toFloat32Array } from '../../core/runtime';
import { ServiceError } from '../../core/service-error';
import type { Checkpoint } from '../checkpoints/checkpoint.types';
import { CheckpointReader } from '../checkpoints/checkpoint-reader';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import { DatasetsService } from '../datasets/datasets.service';
import type { BatchNormMode } from '../evaluations/evaluation.types';
import { EvaluationsService } from '../evaluations/evaluations.service';
import type { JobContext } from '../jobs/job.types';
import { SOUP_CHECKPOINT_KIND, type Soup, type SoupReport, type SoupScore } from './soup.types';

/** Safetensors metadata key recording how BatchNorm statistics were set (content only: no ids, no time). */
export const SOUP_BATCHNORM_METADATA_KEY = 'weightsmith.soup.batchNorm';

type Scorer = (weights: ReadonlyMap<string, TensorBytes>, batchNorm?: BatchNormMode) => Promise<SoupScore>;

/** Reads a plan's lazy tensors into memory (for scoring and recalibration). */
async function materialize(tensors: readonly LazyTensor[]): Promise<Map<string, TensorBytes>> {
  const out = new Map<string, TensorBytes>();
  for (const t of tensors) {
    const parts: Uint8Array[] = [];
    for await (const chunk of t.chunks()) parts.push(chunk);
    out.set(t.name, { dtype: t.dtype, shape: t.shape, data: parts.length === 1 ? parts[0] : new Uint8Array(Buffer.concat(parts)) });
  }
  return out;
}

function fromMemory(name: string, t: TensorBytes): LazyTensor {
  return {
    name,
    dtype: t.dtype,
    shape: t.shape,
    async *chunks() {
      yield t.data;
    },
  };
}

/** Recalibrated statistics (float32) in the dtype of the tensor they replace. */
function inDtype(recalibrated: TensorBytes, like: TensorBytes): TensorBytes {
  if (like.dtype === recalibrated.dtype) return recalibrated;
  const values = Float64Array.from(toFloat32Array(hostTensorFromBytes(recalibrated.dtype, recalibrated.shape, recalibrated.data)));
  return { dtype: like.dtype, shape: like.shape, data: encodeFromFloat64(values, like.dtype) };
}

const byScore = (a: { checkpointId: string; score: SoupScore }, b: { checkpointId: string; score: SoupScore }): number =>
  b.score.top1 - a.score.top1 || (a.checkpointId < b.checkpointId ? -1 : a.checkpointId > b.checkpointId ? 1 : 0);

/**
 * Makes a soup: plans it from the ingredients' headers, scores the ingredients, the candidate soups
 * (greedy), the soup and the uniform soup on the dataset split when there is one, recalibrates
 * BatchNorm when the policy says so, and stores the result as a `soup` checkpoint whose parents
 * are its ingredients and base. Only the checkpoint is stored (once, at the end), so a cancelled
 * job stores nothing. The bytes depend only on the recipe and the ingredients (and the dataset's
 * content when recalibrating): same inputs, same sha256.
 */
@Injectable()
export class SoupRunner {
  constructor(
    private readonly checkpoints: CheckpointsService,
    private readonly reader: CheckpointReader,
    private readonly datasets: DatasetsService,
    private readonly evaluations: EvaluationsService,
  ) {}

  async run(soup: Soup, ctx: JobContext): Promise<{ checkpoint: Checkpoint; report: SoupReport }> {
    const ingredients: Checkpoint[] = [];
    for (const id of soup.checkpointIds) ingredients.push(await this.checkpoints.get(id));
    const base = soup.baseCheckpointId ? await this.checkpoints.get(soup.baseCheckpointId) : null;
    const architectureId = ingredients[0].architectureId;
    const loaded = soup.datasetId ? await this.datasets.load(soup.datasetId) : null;
    if ((loaded || soup.batchNormUsed === 'recalibrate') && (!loaded || !architectureId || !soup.split)) {
      throw new ServiceError('SOUP_DATASET_REQUIRED', `soup ${soup.id} needs a dataset and an architecture to score or recalibrate`);
    }
    const mode: BatchNormMode = soup.batchNormUsed === 'recalibrate' ? 'recalibrate' : 'eval';
    const score: Scorer | null = loaded
      ? (weights, batchNorm = mode) => this.evaluations.scoreTensors(architectureId!, weights, loaded, { split: soup.split!, batchNorm, options: soup.options }, ctx.signal)
      : null;
    const steps = 2 + (score ? ingredients.length * (soup.method === 'greedy' ? 2 : 1) : 0);
    let done = 0;
    const step = async (): Promise<void> => {
      ctx.signal.throwIfAborted();
      await ctx.progress(Math.min(0.99, ++done / steps));
    };

    return this.reader.withSources(base ? [base, ...ingredients] : ingredients, async (sources) => {
      const offset = base ? 1 : 0;
      const models: SoupSource[] = ingredients.map((c, i) => ({ label: `checkpoint ${c.id}`, source: sources[i + offset] }));
      const baseSource: SoupSource | undefined = base ? { label: `base checkpoint ${base.id}`, source: sources[0] } : undefined;
      const uniformOf = (indices: number[]): Promise<SoupPlan> => planSoup({ method: 'uniform', models: indices.map((i) => models[i]) });

      const scored: { checkpointId: string; score: SoupScore }[] = [];
      if (score) {
        for (const c of ingredients) {
          scored.push({ checkpointId: c.id, score: await score(await this.reader.readTensors(c)) });
          await step();
        }
      }

      let greedy: SoupReport['greedy'] = null;
      let kept = ingredients.map((_, i) => i);
      let plan: SoupPlan;
      if (soup.method === 'greedy') {
        const acceptTies = soup.recipe.parameters.acceptTies === true;
        const ids = ingredients.map((c) => c.id);
        const result = await greedySoup(
          ids,
          async (weights) => {
            const candidate = weights.flatMap((w, i) => (w > 0 ? [i] : []));
            const top1 = (await score!(await materialize((await uniformOf(candidate)).tensors))).top1;
            await step();
            return top1;
          },
          { acceptRule: acceptTies ? 'gte' : 'gt', individualScores: scored.map((s) => s.score.top1) },
        );
        kept = result.kept.map((id) => ids.indexOf(id)).sort((a, b) => a - b);
        greedy = {
          order: result.ranking.map((r) => r.id),
          steps: result.steps.map((s) => ({ checkpointId: s.id, top1: s.score, accepted: s.accepted })),
          kept: result.kept,
          acceptTies,
        };
        plan = await uniformOf(kept);
      } else {
        plan = await planSoup({ method: soup.method, models, base: baseSource, parameters: soup.parameters as SoupParametersInput });
      }
      await step();

      let weights: Map<string, TensorBytes> | null = score || soup.batchNormUsed === 'recalibrate' ? await materialize(plan.tensors) : null;
      const metadata: Record<string, string> = { ...plan.metadata };
      if (soup.batchNormUsed === 'recalibrate') {
        const options = soup.options;
        const recalibrated = await this.evaluations.recalibrateTensors(architectureId!, weights!, loaded!, options, ctx.signal);
        weights = new Map([...weights!].map(([name, t]) => [name, recalibrated.has(name) ? inDtype(recalibrated.get(name)!, t) : t]));
        const dataset = await this.datasets.get(soup.datasetId!);
        metadata[SOUP_BATCHNORM_METADATA_KEY] = JSON.stringify({ policy: 'recalibrate', datasetSha256: dataset.sha256, batches: options.recalibrateBatches, batchSize: options.batchSize, seed: options.seed });
      }
      // Recalibrated statistics are already in the weights: scoring them in eval mode is the recalibrated score.
      const soupScore = score ? await score(weights!, 'eval') : null;
      let uniform: SoupReport['uniform'] = null;
      if (score) {
        const sameAsSoup = (soup.method === 'uniform' || soup.method === 'greedy') && kept.length === ingredients.length;
        uniform = { score: sameAsSoup ? soupScore! : await score(await materialize((await uniformOf(ingredients.map((_, i) => i))).tensors)) };
      }
      const best = [...scored].sort(byScore)[0] ?? null;
      const report: SoupReport = {
        batchNorm: soup.batchNormUsed,
        datasetId: soup.datasetId,
        split: soup.split,
        metric: score ? 'top1' : null,
        ingredients: ingredients.map((c) => ({ checkpointId: c.id, score: scored.find((s) => s.checkpointId === c.id)?.score ?? null })),
        greedy,
        soup: { checkpointIds: kept.map((i) => ingredients[i].id), score: soupScore },
        uniform,
        bestIngredient: best,
      };
      ctx.signal.throwIfAborted();
      const tensors = weights ? plan.tensors.map((t) => fromMemory(t.name, weights!.get(t.name)!)) : plan.tensors;
      const checkpoint = await this.checkpoints.storeComputed(
        {
          name: soup.name ?? `soup-${soup.method}`,
          kind: SOUP_CHECKPOINT_KIND,
          tensors,
          architectureId,
          parentIds: [...report.soup.checkpointIds, ...(base ? [base.id] : [])],
          metadata: {
            soupId: soup.id,
            recipe: soup.recipe,
            report: { batchNorm: report.batchNorm, kept: report.soup.checkpointIds, score: soupScore, uniform: uniform?.score ?? null, bestIngredient: best },
          },
          safetensorsMetadata: metadata,
        },
        ctx.signal,
      );
      await step();
      return { checkpoint, report };
    });
  }
}
