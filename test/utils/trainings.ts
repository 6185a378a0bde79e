import request from 'supertest';
import { serializeDataset } from '../../src/core/datasets';
import { auth } from './test-app';
import { waitFor } from './wait-for';

/** Small trainings over HTTP for the e2e and integration tiers: a tiny dataset, resnet20 at 8×8, a request. */
export interface TrainingBody {
  id: string;
  status: string;
  jobId: string;
  progress: { step: number; totalSteps: number; imagesPerSecond: number } | null;
  curve: { epoch: number; loss: number; accuracy: number; evaluation: { top1: number } | null }[];
  checkpointIds: string[];
  resultCheckpointId: string | null;
  startCheckpointId: string | null;
  error: { code: string; message: string } | null;
}

/** 96 8×8 gray images of three classes told apart by where a bright square sits. */
export function squaresDataset(classCount = 3, labelOffset = 0): Buffer {
  const n = 96;
  const inputs = new Uint8Array(n * 64);
  const labels = new Int32Array(n);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    labels[i] = label + labelOffset;
    for (let p = 0; p < 64; p++) inputs[i * 64 + p] = Math.floor(rand() * 60);
    const x0 = label * 3;
    for (let y = 2; y < 5; y++) for (let x = x0; x < x0 + 2; x++) inputs[i * 64 + y * 8 + x] = 200 + Math.floor(rand() * 55);
  }
  return Buffer.from(serializeDataset({ shape: [n, 1, 8, 8], inputs, labels, classCount }));
}

export async function setUpTraining(url: string, dataset = squaresDataset()): Promise<{ architectureId: string; datasetId: string; trainSize: number }> {
  const architectureId = (await request(url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet20', inChannels: 1, imageSize: 8 }).expect(201)).body.id as string;
  const stored = (await request(url).post('/v1/datasets/upload').set(auth()).attach('file', dataset, 'squares.safetensors').field('seed', '1').expect(201)).body;
  return { architectureId, datasetId: stored.id as string, trainSize: stored.splits.sizes.train as number };
}

export const trainingBody = (architectureId: string, datasetId: string, extra: Record<string, unknown> = {}) => ({
  start: { initialization: { architectureId, method: 'torch-default', seed: 3 } },
  datasetId,
  optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  schedule: { name: 'cosine', warmupSteps: 2 },
  epochs: 2,
  batchSize: 16,
  augment: { randomCrop: { padding: 1 }, horizontalFlip: true },
  seed: 11,
  ...extra,
});

export async function finishedTraining(url: string, id: string, timeoutMs = 120_000): Promise<TrainingBody> {
  return waitFor(
    `training ${id} to finish`,
    async () => {
      const body = (await request(url).get(`/v1/trainings/${id}`).set(auth()).expect(200)).body as TrainingBody;
      return ['succeeded', 'failed', 'cancelled'].includes(body.status) ? body : undefined;
    },
    timeoutMs,
    100,
  );
}
