import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import createClient from 'openapi-fetch';
import { projectRoot } from '../../src/core/io/project-root';
import type { paths } from '../generated/weightsmith-api';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { ADMIN_KEY, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

/**
 * Drives the API through a client generated (openapi-typescript + openapi-fetch) from the
 * committed openapi.json: a schema that does not match the server fails type-checking or here.
 */
describe(`generated OpenAPI client (${databaseLabel()})`, () => {
  let t: TestApp;
  let client: ReturnType<typeof createClient<paths>>;
  beforeAll(async () => {
    t = await startTestApp();
    client = createClient<paths>({ baseUrl: t.url, headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves the committed document, which a standard validator accepts', async () => {
    const committed = JSON.parse(readFileSync(join(projectRoot(), 'openapi.json'), 'utf8'));
    const served = await (await fetch(`${t.url}/openapi.json`)).json();
    expect(served).toEqual(committed);
    await expect(SwaggerParser.validate(structuredClone(committed))).resolves.toBeTruthy();
    const docs = await fetch(`${t.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui');
  });

  it('uploads, reads, lists, inspects and deletes a checkpoint', async () => {
    const form = new FormData();
    form.append('file', new Blob([smallCheckpoint(5)]), 'client.safetensors');
    form.append('name', 'from-client');
    form.append('tags', 'client');
    const created = await client.POST('/v1/checkpoints', { body: form as unknown as never, bodySerializer: (b: unknown) => b as FormData });
    expect(created.response.status).toBe(201);
    const id = created.data!.id;
    expect(created.data!.tensors.map((x) => x.name)).toEqual(['a', 'b']);

    const got = await client.GET('/v1/checkpoints/{id}', { params: { path: { id } } });
    expect(got.data?.name).toBe('from-client');

    const list = await client.GET('/v1/checkpoints', { params: { query: { tag: 'client', limit: 10 } } });
    expect(list.data?.items.map((c) => c.id)).toEqual([id]);
    expect(list.data?.nextCursor).toBeNull();

    const tensor = await client.GET('/v1/checkpoints/{id}/tensors/{name}', { params: { path: { id, name: 'a' } } });
    expect(tensor.data).toMatchObject({ dtype: 'F32', shape: [2, 3], min: -10, max: 3 });

    const weights = await client.GET('/v1/checkpoints/{id}/weights', { params: { path: { id } }, parseAs: 'arrayBuffer' });
    expect(Buffer.from(weights.data as ArrayBuffer).equals(smallCheckpoint(5))).toBe(true);

    const job = await client.POST('/v1/checkpoints/{id}/statistics', { params: { path: { id } } });
    expect(job.response.status).toBe(202);
    let status = job.data!.status;
    for (let i = 0; i < 100 && status !== 'succeeded' && status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await client.GET('/v1/jobs/{id}', { params: { path: { id: job.data!.id } } })).data!.status;
    }
    expect(status).toBe('succeeded');
    const jobs = await client.GET('/v1/jobs', { params: { query: { status: 'succeeded' } } });
    expect(jobs.data?.items.some((j) => j.id === job.data!.id)).toBe(true);

    const missing = await client.GET('/v1/checkpoints/{id}', { params: { path: { id: '00000000-0000-4000-8000-000000000000' } } });
    expect(missing.response.status).toBe(404);
    expect((missing.error as { code: string }).code).toBe('CHECKPOINT_NOT_FOUND');

    const deleted = await client.DELETE('/v1/checkpoints/{id}', { params: { path: { id } } });
    expect(deleted.response.status).toBe(204);
  });

  it('manages API keys', async () => {
    const created = await client.POST('/v1/api-keys', { body: { name: 'reader', scopes: ['read'] } });
    expect(created.response.status).toBe(201);
    expect(created.data?.key).toMatch(/^ws_/);
    const keys = await client.GET('/v1/api-keys');
    expect(keys.data?.items.some((k) => k.id === created.data!.id)).toBe(true);
    const revoked = await client.DELETE('/v1/api-keys/{id}', { params: { path: { id: created.data!.id } } });
    expect(revoked.data?.revokedAt).not.toBeNull();
  });

  it('reports readiness, liveness and metrics', async () => {
    const ready = await client.GET('/health/ready');
    expect(ready.data?.status).toBe('ready');
    const checks = ready.data!.checks as Record<string, { status: string; backend?: string }>;
    expect(checks.database.status).toBe('up');
    expect(checks.blobStore.status).toBe('up');
    expect(checks.backend).toMatchObject({ status: 'up', backend: 'cpu' });
    expect((await client.GET('/health/live')).data?.status).toBe('ok');
    const metrics = await fetch(`${t.url}/metrics`);
    expect(await metrics.text()).toContain('weightsmith_http_requests_total');
  });
});
