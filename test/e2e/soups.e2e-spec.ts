import { createHash } from 'node:crypto';
import request from 'supertest';
import { serializeDataset } from '../../src/core/datasets';
import { planSoup } from '../../src/core/averaging';
import { readSafetensors, serializeSafetensors, writeSafetensors } from '../../src/core/formats/safetensors';
import { bufferSource } from '../../src/core/io/random-access';
import { PassThrough } from 'node:stream';
import { binaryBody } from '../utils/binary-body';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';
import { squaresDataset } from '../utils/trainings';
import { waitFor } from '../utils/wait-for';

interface Score {
  top1: number;
  top5: number | null;
  loss: number;
  count: number;
}

interface SoupBody {
  id: string;
  status: string;
  method: string;
  batchNorm: string;
  resultCheckpointId: string | null;
  recipe: Record<string, unknown>;
  error: { code: string; message: string } | null;
  report: {
    batchNorm: string;
    metric: string | null;
    ingredients: { checkpointId: string; score: Score | null }[];
    greedy: { order: string[]; steps: { checkpointId: string; top1: number; accepted: boolean }[]; kept: string[]; acceptTies: boolean } | null;
    soup: { checkpointIds: string[]; score: Score | null };
    uniform: { score: Score } | null;
    bestIngredient: { checkpointId: string; score: Score } | null;
  } | null;
}

interface LineageBody {
  id: string;
  kind: string;
  parents: LineageBody[];
  truncated: boolean;
}

/** Engine output written to memory: its sha256. */
async function engineSha256(models: Buffer[], method: 'uniform'): Promise<string> {
  const plan = await planSoup({ method, models: models.map((b, i) => ({ label: `m${i}`, source: bufferSource(new Uint8Array(b)) })) });
  const out = new PassThrough();
  const hash = createHash('sha256');
  out.on('data', (chunk: Buffer) => hash.update(chunk));
  const ended = new Promise((resolve) => out.on('end', resolve));
  await writeSafetensors(out, plan.tensors, plan.metadata);
  out.end();
  await ended;
  return hash.digest('hex');
}

describe(`soups API (${databaseLabel()})`, () => {
  let t: TestApp;
  let architectureId: string;
  let datasetId: string;
  const ingredients: string[] = [];
  /** Small scoring and recalibration passes (tfjs on two shared cores). */
  const options = { batchSize: 16, recalibrateBatches: 2, seed: 5 };

  const post = (body: object) => request(t.url).post('/v1/soups').set(auth()).send(body);
  const weights = async (id: string): Promise<Buffer> =>
    (await request(t.url).get(`/v1/checkpoints/${id}/weights`).set(auth()).buffer(true).parse(binaryBody as never).expect(200)).body as Buffer;
  const checkpoint = async (id: string) => (await request(t.url).get(`/v1/checkpoints/${id}`).set(auth()).expect(200)).body;
  async function finished(id: string): Promise<SoupBody> {
    return waitFor(
      `soup ${id}`,
      async () => {
        const body = (await request(t.url).get(`/v1/soups/${id}`).set(auth()).expect(200)).body as SoupBody;
        return ['queued', 'running'].includes(body.status) ? undefined : body;
      },
      120_000,
      50,
    );
  }
  async function made(body: object): Promise<SoupBody> {
    const created = await post(body);
    expect({ status: created.status, problem: created.status === 202 ? null : created.body }).toEqual({ status: 202, problem: null });
    expect(created.headers.location).toBe(`/v1/soups/${created.body.id}`);
    const done = await finished(created.body.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    return done;
  }
  const counts = async () => ({
    soups: (await request(t.url).get('/v1/soups?limit=200').set(auth()).expect(200)).body.items.length as number,
    soupCheckpoints: (await request(t.url).get('/v1/checkpoints?kind=soup&limit=200').set(auth()).expect(200)).body.items.length as number,
  });

  beforeAll(async () => {
    t = await startTestApp();
    architectureId = (await request(t.url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet20', inChannels: 1, imageSize: 8, numClasses: 3 }).expect(201)).body.id;
    for (const seed of [1, 2, 3, 4]) {
      ingredients.push((await request(t.url).post('/v1/initializations').set(auth()).send({ architectureId, method: 'kaiming', seed }).expect(201)).body.checkpointId);
    }
    datasetId = (await request(t.url).post('/v1/datasets/upload').set(auth()).attach('file', squaresDataset(), 'squares.safetensors').field('seed', '1').expect(201)).body.id;
  });
  afterAll(async () => {
    await t.close();
  });

  it('makes a uniform soup equal to the engine run on the same ingredients, a soup checkpoint with lineage to each', async () => {
    const done = await made({ method: 'uniform', checkpointIds: ingredients.slice(0, 3) });
    expect(done).toMatchObject({ method: 'uniform', batchNorm: 'keep', recipe: { method: 'uniform', checkpointIds: ingredients.slice(0, 3), source: 'json' } });
    expect(done.report).toMatchObject({ batchNorm: 'keep', metric: null, uniform: null, bestIngredient: null, soup: { checkpointIds: ingredients.slice(0, 3), score: null } });
    const soup = await checkpoint(done.resultCheckpointId!);
    expect(soup).toMatchObject({ kind: 'soup', architectureId, name: 'soup-uniform' });
    expect([...soup.parentIds].sort()).toEqual(ingredients.slice(0, 3).sort());
    const expected = await engineSha256(await Promise.all(ingredients.slice(0, 3).map(weights)), 'uniform');
    expect(soup.sha256).toBe(expected);
    expect(createHash('sha256').update(await weights(soup.id)).digest('hex')).toBe(expected);
    const header = await readSafetensors(bufferSource(new Uint8Array(await weights(soup.id))), { maxHeaderBytes: 1 << 24 });
    expect(JSON.parse(String(header.metadata!['weightsmith.soup']))).toMatchObject({ method: 'uniform' });
  });

  it('gives the same sha256 for the same recipe on the same ingredients, as JSON or as a mergekit recipe', async () => {
    const [base, a, b] = ingredients;
    const json = { method: 'ties', baseCheckpointId: base, checkpointIds: [a, b], weights: [0.7, 0.3], parameters: { density: 0.5, lambda: 1 } };
    const first = await made(json);
    const second = await made(json);
    const yaml = [
      'merge_method: ties',
      `base_model: ${base}`,
      'models:',
      `  - model: ${a}`,
      '    parameters: {weight: 0.7}',
      `  - model: ${b}`,
      '    parameters: {weight: 0.3}',
      'parameters: {density: 0.5, lambda: 1}',
      'dtype: float32',
    ].join('\n');
    const third = await made({ recipe: yaml });
    expect(third.recipe).toMatchObject({ method: 'ties', source: 'mergekit-yaml', yaml, baseCheckpointId: base, checkpointIds: [a, b] });
    const [c1, c2, c3] = await Promise.all([first, second, third].map((s) => checkpoint(s.resultCheckpointId!)));
    expect(c1.id).not.toBe(c2.id);
    expect(c2.sha256).toBe(c1.sha256);
    expect(c3.sha256).toBe(c1.sha256);
    expect([...c1.parentIds].sort()).toEqual([base, a, b].sort());
    // A different recipe gives different bytes.
    const other = await made({ ...json, parameters: { density: 0.9, lambda: 1 } });
    expect((await checkpoint(other.resultCheckpointId!)).sha256).not.toBe(c1.sha256);
  });

  it('makes a greedy soup on a dataset: scores, greedy order, kept ingredients, uniform soup and best ingredient next to it', async () => {
    const done = await made({ method: 'greedy', checkpointIds: ingredients, datasetId, split: 'validation', options });
    const report = done.report!;
    // resnet20 has BatchNorm and a dataset is given: statistics are recalibrated by default.
    expect(done.batchNorm).toBe('recalibrate');
    expect(report).toMatchObject({ batchNorm: 'recalibrate', metric: 'top1' });
    const scores = new Map(report.ingredients.map((i) => [i.checkpointId, i.score!]));
    expect([...scores.keys()].sort()).toEqual([...ingredients].sort());
    const order = report.greedy!.order;
    for (let i = 1; i < order.length; i++) expect(scores.get(order[i - 1])!.top1).toBeGreaterThanOrEqual(scores.get(order[i])!.top1);
    expect(report.greedy!.steps.map((s) => s.checkpointId)).toEqual(order.slice(1));
    expect(report.greedy!.kept[0]).toBe(order[0]);
    expect(report.greedy!.kept.slice(1)).toEqual(report.greedy!.steps.filter((s) => s.accepted).map((s) => s.checkpointId));
    expect([...report.soup.checkpointIds].sort()).toEqual([...report.greedy!.kept].sort());
    expect(report.bestIngredient!.checkpointId).toBe(order[0]);
    expect(report.bestIngredient!.score).toEqual(scores.get(order[0]));
    // The greedy soup never scores below its best ingredient; a rejected step did not beat the kept set.
    expect(report.soup.score!.top1).toBeGreaterThanOrEqual(report.bestIngredient!.score.top1);
    expect(report.uniform!.score.count).toBe(report.soup.score!.count);
    const soup = await checkpoint(done.resultCheckpointId!);
    expect([...soup.parentIds].sort()).toEqual([...report.greedy!.kept].sort());
    const header = await readSafetensors(bufferSource(new Uint8Array(await weights(soup.id))), { maxHeaderBytes: 1 << 24 });
    expect(JSON.parse(String(header.metadata!['weightsmith.soup.batchNorm']))).toMatchObject({ policy: 'recalibrate', batches: 2, batchSize: 16, seed: 5 });
    expect(JSON.stringify(header.metadata)).not.toContain(done.id);
  });

  it('scores a uniform soup with batchNorm keep next to its ingredients', async () => {
    const done = await made({ method: 'uniform', checkpointIds: ingredients.slice(0, 2), datasetId, batchNorm: 'keep', options });
    expect(done.report!.batchNorm).toBe('keep');
    expect(done.report!.uniform!.score).toEqual(done.report!.soup.score);
    expect(done.report!.ingredients.every((i) => i.score !== null && i.score.count === done.report!.soup.score!.count)).toBe(true);
  });

  it('returns the lineage tree of a soup of soups', async () => {
    const inner = await made({ method: 'uniform', checkpointIds: ingredients.slice(0, 2) });
    const outer = await made({ method: 'weighted', checkpointIds: [inner.resultCheckpointId!, ingredients[2]], weights: [0.5, 0.5] });
    const tree = (await request(t.url).get(`/v1/checkpoints/${outer.resultCheckpointId}/lineage`).set(auth()).expect(200)).body as LineageBody;
    expect(tree).toMatchObject({ id: outer.resultCheckpointId, kind: 'soup', truncated: false });
    const innerNode = tree.parents.find((p) => p.id === inner.resultCheckpointId)!;
    expect(innerNode.kind).toBe('soup');
    expect(innerNode.parents.map((p) => p.id).sort()).toEqual(ingredients.slice(0, 2).sort());
    expect(tree.parents.map((p) => p.id).sort()).toEqual([inner.resultCheckpointId, ingredients[2]].sort());
    const shallow = (await request(t.url).get(`/v1/checkpoints/${outer.resultCheckpointId}/lineage?depth=1`).set(auth()).expect(200)).body as LineageBody;
    expect(shallow.parents.find((p) => p.id === inner.resultCheckpointId)).toMatchObject({ parents: [], truncated: true });
    await request(t.url).get('/v1/checkpoints/00000000-0000-4000-8000-000000000000/lineage').set(auth()).expect(404);
  });

  it('refuses bad requests with stable codes and stores nothing', async () => {
    const upload = async (file: Buffer, fields: Record<string, string> = {}) => {
      let req = request(t.url).post('/v1/checkpoints').set(auth());
      for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
      return (await req.attach('file', file, 'x.safetensors').expect(201)).body.id as string;
    };
    const small = await upload(smallCheckpoint(0));
    const other = await upload(
      Buffer.from(
        serializeSafetensors([{ name: 'a', dtype: 'F32', shape: [3, 2], data: new Uint8Array(24) }], {}),
      ),
    );
    const otherArchitecture = (await request(t.url).post('/v1/architectures').set(auth()).send({ zoo: 'resnet20', inChannels: 1, imageSize: 8, numClasses: 4 }).expect(201)).body.id;
    const otherArchitectureCheckpoint = (await request(t.url).post('/v1/initializations').set(auth()).send({ architectureId: otherArchitecture, method: 'kaiming', seed: 1 }).expect(201)).body.checkpointId;
    const rgb = {
      shape: [60, 3, 8, 8] as [number, number, number, number],
      inputs: new Uint8Array(60 * 192),
      labels: Int32Array.from({ length: 60 }, (_, i) => i % 3),
      classCount: 3,
    };
    const rgbDataset = (await request(t.url).post('/v1/datasets/upload').set(auth()).attach('file', Buffer.from(serializeDataset(rgb)), 'rgb.safetensors').expect(201)).body.id;
    const before = await counts();
    const [a, b] = ingredients;
    const cases: [object, number, string][] = [
      [{ method: 'uniform', checkpointIds: [small, other] }, 422, 'SOUP_INGREDIENTS_INCOMPATIBLE'],
      [{ method: 'uniform', checkpointIds: [a, otherArchitectureCheckpoint] }, 422, 'SOUP_INGREDIENTS_INCOMPATIBLE'],
      [{ method: 'uniform', checkpointIds: [a, '00000000-0000-4000-8000-000000000000'] }, 404, 'CHECKPOINT_NOT_FOUND'],
      [{ method: 'uniform', checkpointIds: [] }, 422, 'SOUP_INGREDIENTS_EMPTY'],
      [{ method: 'weighted', checkpointIds: [a, b], weights: [1.5, -0.5] }, 422, 'SOUP_WEIGHTS_INVALID'],
      [{ method: 'weighted', checkpointIds: [a, b], weights: [0.5, 0.4] }, 422, 'SOUP_WEIGHTS_INVALID'],
      [{ method: 'weighted', checkpointIds: [a, b] }, 422, 'SOUP_WEIGHTS_INVALID'],
      [{ method: 'greedy', checkpointIds: [a, b] }, 422, 'SOUP_DATASET_REQUIRED'],
      [{ method: 'uniform', checkpointIds: [a, b], datasetId: rgbDataset }, 422, 'DATASET_MODEL_MISMATCH'],
      [{ method: 'uniform', checkpointIds: [a, b], datasetId, batchNorm: 'repair' }, 422, 'SOUP_BATCHNORM_UNSUPPORTED'],
      [{ method: 'uniform', checkpointIds: [a, a] }, 422, 'SOUP_PARAMETERS_INVALID'],
      [{ method: 'ties', checkpointIds: [a, b] }, 422, 'SOUP_PARAMETERS_INVALID'],
      [{ method: 'uniform', checkpointIds: [a, b], parameters: { lambda: 2 } }, 422, 'SOUP_PARAMETERS_INVALID'],
      [{ recipe: 'merge_method: [' }, 422, 'SOUP_RECIPE_INVALID'],
      [{ recipe: `merge_method: linear\nmodels:\n  - model: ${a}\n  - model: some/hub-model` }, 422, 'SOUP_RECIPE_INVALID'],
      [{ recipe: `merge_method: linear\nmodels:\n  - model: ${a}\n    parameters: {weight: 1}\ndtype: bfloat16` }, 422, 'SOUP_RECIPE_INVALID'],
      [{ method: 'blend', checkpointIds: [a, b] }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status, code });
    }
    expect(await counts()).toEqual(before);
  });
  it('keeps its ingredients and dataset while its job runs, and a cancelled soup stores nothing', async () => {
    const before = await counts();
    const created = await post({ method: 'greedy', checkpointIds: ingredients, datasetId, options }).expect(202);
    await waitFor('the soup to run', async () => ((await request(t.url).get(`/v1/soups/${created.body.id}`).set(auth()).expect(200)).body.status === 'running' ? true : undefined), 60_000, 20);
    expect((await request(t.url).delete(`/v1/checkpoints/${ingredients[3]}`).set(auth()).expect(409)).body.code).toBe('CHECKPOINT_IN_USE');
    expect((await request(t.url).delete(`/v1/datasets/${datasetId}`).set(auth()).expect(409)).body.code).toBe('DATASET_IN_USE');
    await request(t.url).post(`/v1/soups/${created.body.id}/cancel`).set(auth()).expect(200);
    const done = await finished(created.body.id);
    expect(done).toMatchObject({ status: 'cancelled', report: null, resultCheckpointId: null });
    expect(await counts()).toEqual({ soups: before.soups + 1, soupCheckpoints: before.soupCheckpoints });
  });
});
