import { useBackend } from '../runtime/testing/runtime-testing';
import { loadTrainFixtureModel, syntheticDataset } from './testing/train-fixture-model';
import { Trainer, type TrainingData } from './trainer';
import { decodeSnapshot, encodeSnapshot } from './trainer-snapshot';
import { evaluateGraph } from './evaluate';
import { parseTrainingConfig, type TrainingConfig } from './training-config';

// 11 examples in batches of 4: epochs of 3 steps (4, 4, 3), so 7 steps cross two epoch boundaries
// and the partial last batch; the resume at step 4 lands inside the second epoch.
const data = (): TrainingData => ({
  dataset: syntheticDataset(13, [3, 16, 16], 10),
  indices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11],
  normalization: { mean: [0.5, 0.45, 0.4], std: [0.25, 0.2, 0.3] },
});

function config(optimizer: Record<string, unknown>, extra: Record<string, unknown> = {}): TrainingConfig {
  return parseTrainingConfig({
    optimizer,
    schedule: { name: 'cosine', warmupSteps: 2, minLr: 0.001 },
    batchSize: 4,
    steps: 7,
    augment: { randomCrop: { padding: 2 }, horizontalFlip: true },
    seed: 5,
    labelSmoothing: 0.1,
    ...extra,
  });
}

async function straightAndResumed(cfg: TrainingConfig, at: number) {
  const { graph, state } = await loadTrainFixtureModel('cnn_bn');
  const straight = new Trainer(graph, state, data(), cfg);
  const losses: number[] = [];
  while (straight.step < straight.totalSteps) losses.push(straight.runStep().loss);
  const expected = straight.stateDict();
  straight.dispose();

  const first = new Trainer(graph, state, data(), cfg);
  for (let s = 0; s < at; s++) first.runStep();
  const bytes = encodeSnapshot(first.snapshot());
  first.dispose();
  const resumed = new Trainer(graph, state, data(), cfg, decodeSnapshot(bytes));
  expect(resumed.step).toBe(at);
  const resumedLosses: number[] = [];
  while (resumed.step < resumed.totalSteps) resumedLosses.push(resumed.runStep().loss);
  const actual = resumed.stateDict();
  resumed.dispose();
  return { expected, actual, losses, resumedLosses };
}

describe('Trainer (wasm)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it.each([
    ['sgd with nesterov momentum', { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }],
    ['adam-cm', { name: 'adam-cm', lr: 0.01, topC: 2, decay: 0.7, weightDecay: 0.01 }],
  ])('%s: k steps, snapshot → bytes → resume, N − k steps equals N steps straight, bit for bit', async (_, optimizer) => {
    const run = await straightAndResumed(config(optimizer), 4);
    expect(run.resumedLosses).toEqual(run.losses.slice(4));
    expect([...run.actual.tensors.keys()]).toEqual([...run.expected.tensors.keys()]);
    for (const [name, t] of run.expected.tensors) expect({ name, data: Array.from(run.actual.tensors.get(name)!.data) }).toEqual({ name, data: Array.from(t.data) });
    expect(run.actual.counters).toEqual(run.expected.counters);
    expect(run.actual.counters.get('bn1.num_batches_tracked')).toBe(7);
  });

  it('steps through epochs with a partial last batch and the scheduled learning rate', async () => {
    const { graph, state } = await loadTrainFixtureModel('cnn_bn');
    const trainer = new Trainer(graph, state, data(), config({ name: 'sgd', lr: 0.1, momentum: 0.9 }));
    expect(trainer.stepsPerEpoch).toBe(3);
    const reports = Array.from({ length: 7 }, () => trainer.runStep());
    trainer.dispose();
    expect(reports.map((r) => r.images)).toEqual([4, 4, 3, 4, 4, 3, 4]);
    expect(reports.map((r) => r.epoch)).toEqual([0, 0, 0, 1, 1, 1, 2]);
    expect(reports[0].lr).toBeCloseTo(0.1 / 3, 12);
    expect(reports[2].lr).toBeCloseTo(0.1, 12);
    expect(reports.every((r) => r.accuracy >= 0 && r.accuracy <= 1 && Number.isFinite(r.loss))).toBe(true);
    // Every example is seen once per epoch.
    const t2 = new Trainer(graph, state, data(), config({ name: 'sgd', lr: 0.1 }));
    const epoch1 = [3, 4, 5].flatMap((s) => Array.from(t2.batchIndices(s)));
    t2.dispose();
    expect(epoch1.sort((a, b) => a - b)).toEqual(data().indices);
  });

  it('a huge learning rate makes the loss non-finite: TRAINING_DIVERGED names the step', async () => {
    const { graph, state } = await loadTrainFixtureModel('mlp');
    const gray = { dataset: syntheticDataset(16, [1, 28, 28], 10), indices: Array.from({ length: 16 }, (_, i) => i), normalization: { mean: [0.5], std: [0.25] } };
    const trainer = new Trainer(graph, state, gray, config({ name: 'sgd', lr: 1e9, momentum: 0.9 }, { schedule: { name: 'constant' }, steps: 20 }));
    let error: unknown;
    try {
      while (trainer.step < trainer.totalSteps) trainer.runStep();
    } catch (e) {
      error = e;
    }
    trainer.dispose();
    expect(error).toMatchObject({ code: 'TRAINING_DIVERGED', message: expect.stringMatching(/training diverged at step \d+/) });
  });

  it('refuses data the graph does not take, and a snapshot of another configuration', async () => {
    const { graph, state } = await loadTrainFixtureModel('cnn_bn');
    const cfg = config({ name: 'sgd', lr: 0.1 });
    const gray = { ...data(), dataset: syntheticDataset(11, [1, 16, 16], 10), normalization: { mean: [0], std: [1] } };
    expect(() => new Trainer(graph, state, gray, cfg)).toThrow(expect.objectContaining({ code: 'TRAINING_DATA_MISMATCH' }));
    const manyClasses = { ...data(), dataset: syntheticDataset(13, [3, 16, 16], 12) };
    expect(() => new Trainer(graph, state, manyClasses, cfg)).toThrow(/label 1[01], but the model has 10 classes/);
    const trainer = new Trainer(graph, state, data(), cfg);
    const snapshot = trainer.snapshot();
    trainer.dispose();
    expect(() => new Trainer(graph, state, data(), config({ name: 'sgd', lr: 0.2 }), snapshot)).toThrow(expect.objectContaining({ code: 'TRAINING_SNAPSHOT_INVALID' }));
  });

  it('decodeSnapshot refuses files that are not snapshots', async () => {
    const { graph, state } = await loadTrainFixtureModel('cnn_bn');
    const trainer = new Trainer(graph, state, data(), config({ name: 'adam', lr: 0.01 }));
    trainer.runStep();
    const snapshot = trainer.snapshot();
    trainer.dispose();
    const decoded = decodeSnapshot(encodeSnapshot(snapshot));
    expect(decoded.optimizer.step).toBe(1);
    expect(decoded.counters).toEqual(snapshot.counters);
    expect(Object.keys(decoded.optimizer.arrays).sort()).toEqual(Object.keys(snapshot.optimizer.arrays).sort());
    const bytes = encodeSnapshot(snapshot);
    const text = Buffer.from(bytes).toString('latin1').replace('weightsmith-trainer-snapshot/1', 'weightsmith-trainer-snapshot/9');
    expect(() => decodeSnapshot(Uint8Array.from(Buffer.from(text, 'latin1')))).toThrow(expect.objectContaining({ code: 'TRAINING_SNAPSHOT_INVALID' }));
    expect(() => decodeSnapshot(new Uint8Array(4))).toThrow(expect.objectContaining({ code: 'TRAINING_SNAPSHOT_INVALID' }));
  });

  it('evaluateGraph: eval-mode top-1/top-5/loss agree with the trainer, and training lowers the loss', async () => {
    const { graph, state } = await loadTrainFixtureModel('cnn_bn');
    const d = data();
    const before = evaluateGraph(graph, state, d, { batchSize: 5 });
    expect(before.count).toBe(11);
    expect(before.top5).toBeGreaterThanOrEqual(before.top1);
    const trainer = new Trainer(graph, state, d, config({ name: 'adam', lr: 0.01 }, { steps: 30, shuffle: false, augment: {}, schedule: { name: 'constant' }, labelSmoothing: 0 }));
    while (trainer.step < trainer.totalSteps) trainer.runStep();
    const mine = trainer.evaluate(d, { batchSize: 11 });
    const after = evaluateGraph(graph, trainer.stateDict(), d, { batchSize: 3 });
    trainer.dispose();
    expect(after.loss).toBeCloseTo(mine.loss, 5);
    expect(after.top1).toBe(mine.top1);
    expect(after.loss).toBeLessThan(before.loss);
  });
});
