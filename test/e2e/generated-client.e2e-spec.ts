import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import createClient, { type Middleware } from 'openapi-fetch';
import { projectRoot } from '../../src/core/io/project-root';
import type { paths } from '../generated/weightsmith-api';
import { headersOf, mediaType, OpenApiResponseValidator } from '../utils/openapi-response-validator';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { ADMIN_KEY, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

const validator = new OpenApiResponseValidator();

/** Checks every response the client receives against openapi.json: its status, media type and body. */
function validating(seen: string[]): Middleware {
  return {
    async onResponse({ request, response, schemaPath }) {
      const contentType = mediaType(response);
      const text = await response.clone().text();
      const body = contentType && /json$/.test(contentType) ? (JSON.parse(text) as unknown) : text;
      validator.assert({ method: request.method, path: schemaPath, status: response.status, contentType: text === '' ? null : contentType, body, headers: headersOf(response) });
      seen.push(`${request.method} ${schemaPath} ${response.status}`);
    },
  };
}

/**
 * Drives the API through a client generated (openapi-typescript + openapi-fetch) from the
 * committed openapi.json: a request that does not fit the document fails type-checking, and a
 * response that does not match it (status, media type or body) fails the run.
 */
describe(`generated OpenAPI client (${databaseLabel()})`, () => {
  let t: TestApp;
  let client: ReturnType<typeof createClient<paths>>;
  const seen: string[] = [];
  const headers = { Authorization: `Bearer ${ADMIN_KEY}` };
  beforeAll(async () => {
    t = await startTestApp();
    client = createClient<paths>({ baseUrl: t.url, headers });
    client.use(validating(seen));
  });
  afterAll(async () => {
    await t.close();
  });

  it('fails a response that does not match the document', async () => {
    const created = await client.POST('/v1/api-keys', { body: { name: 'tamper', scopes: ['read'] } });
    const id = created.data!.id;
    // A server that drops a required field, adds an undeclared one, or answers an undocumented status.
    const tamper = (edit: (body: Record<string, unknown>) => Record<string, unknown>, status?: number): typeof client => {
      const tampered = createClient<paths>({
        baseUrl: t.url,
        headers,
        fetch: async (request) => {
          const res = await fetch(request);
          const body = edit((await res.json()) as Record<string, unknown>);
          return new Response(JSON.stringify(body), { status: status ?? res.status, headers: { 'content-type': 'application/json' } });
        },
      });
      tampered.use(validating([]));
      return tampered;
    };
    type Keys = { items: Record<string, unknown>[] };
    const eachKey = (edit: (key: Record<string, unknown>) => Record<string, unknown>) => (b: Record<string, unknown>) => ({ ...b, items: (b as Keys).items.map(edit) });
    await expect(tamper(eachKey(({ id: _id, ...k }) => k)).GET('/v1/api-keys')).rejects.toThrow(/body\/items\/0 must have required property 'id'/);
    await expect(tamper((b) => ({ ...b, surprise: 1 })).GET('/v1/api-keys')).rejects.toThrow(/must NOT have additional properties \(surprise\)/);
    await expect(tamper(eachKey((k) => ({ ...k, lastUsedAt: 7 }))).GET('/v1/api-keys')).rejects.toThrow(/lastUsedAt must be string,null/);
    await expect(tamper((b) => b, 418).GET('/v1/api-keys')).rejects.toThrow(/status not documented/);
    // The same responses untouched pass.
    await expect(tamper((b) => b).GET('/v1/api-keys')).resolves.toMatchObject({ response: { status: 200 } });
    // A header the API sends on purpose must be documented for the response that carries it.
    const keys = { method: 'GET', path: '/v1/api-keys', status: 200, contentType: 'application/json', body: { items: [] } };
    expect(validator.check({ ...keys, headers: { Location: '/v1/api-keys/x' } })).toEqual(['GET /v1/api-keys → 200: header location not documented']);
    expect(validator.check({ ...keys, headers: { 'X-Request-Id': 'r1' } })).toEqual([]);
    // OpenAPI 3.0.3: `nullable` adds null to its own `type` only; an `allOf` beside it still rejects null.
    const strict = new OpenApiResponseValidator({
      paths: { '/x': { get: { responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/X' } } } } } } } },
      components: {
        schemas: {
          E: { type: 'object', properties: { code: { type: 'string' } } },
          X: { type: 'object', properties: { viaAllOf: { type: 'object', nullable: true, allOf: [{ $ref: '#/components/schemas/E' }] }, inline: { type: 'object', nullable: true, properties: { code: { type: 'string' } } } } },
        },
      },
    });
    const x = (body: unknown) => strict.check({ method: 'GET', path: '/x', status: 200, contentType: 'application/json', body });
    expect(x({ inline: null })).toEqual([]);
    expect(x({ viaAllOf: null })).toEqual([expect.stringMatching(/body\/viaAllOf must be object/)]);
    await client.DELETE('/v1/api-keys/{id}', { params: { path: { id } } });
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

  it('documents security, servers, ids and sizes the way generated clients read them', () => {
    type Operation = { security?: Record<string, string[]>[]; summary?: string; parameters?: { in: string; name: string; schema: { format?: string } }[] };
    const doc = JSON.parse(readFileSync(join(projectRoot(), 'openapi.json'), 'utf8')) as {
      servers?: { url: string }[];
      paths: Record<string, Record<string, Operation>>;
      components: { securitySchemes: Record<string, { bearerFormat?: string }>; schemas: Record<string, { properties?: Record<string, { type?: string; items?: { type?: string } }> }> };
    };
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.components.securitySchemes.bearer.bearerFormat).toBeUndefined(); // keys are opaque, not JWTs
    const PUBLIC = /^\/(health\/|metrics$|v2\/health\/)/;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect([where, op.summary]).toEqual([where, expect.stringMatching(/\S/)]);
        expect([where, op.security]).toEqual([where, PUBLIC.test(path) ? [] : [{ bearer: [] }]]);
        for (const p of (op.parameters ?? []).filter((x) => x.in === 'path' && x.name === 'id')) expect([where, p.schema.format]).toEqual([where, 'uuid']);
      }
    }
    const { CheckpointDto, TensorManifestEntryDto, OipRequestInputDto } = doc.components.schemas;
    expect([CheckpointDto.properties!.sizeBytes.type, TensorManifestEntryDto.properties!.shape.items!.type, OipRequestInputDto.properties!.shape.items!.type]).toEqual(['integer', 'integer', 'integer']);
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

  it('builds, initializes, deploys and infers', async () => {
    const arch = await client.POST('/v1/architectures', { body: { zoo: 'squeezenet1_0' } });
    expect(arch.response.status).toBe(201);
    const architectureId = arch.data!.id;
    expect((await client.GET('/v1/architectures/{id}', { params: { path: { id: architectureId } } })).data?.parameterCount).toBe(1248424);
    expect((await client.GET('/v1/architectures/{id}/graph', { params: { path: { id: architectureId } } })).response.status).toBe(200);
    expect((await client.GET('/v1/architectures/{id}/ghn-graph', { params: { path: { id: architectureId }, query: { builder: 'ghn3' } } })).response.status).toBe(200);
    expect((await client.GET('/v1/architectures', { params: { query: { limit: 5 } } })).data?.items.map((a) => a.id)).toContain(architectureId);
    expect((await client.GET('/v1/zoo')).data?.items.length).toBe(76);

    const init = await client.POST('/v1/initializations', { body: { architectureId, method: 'kaiming', seed: 1 } });
    expect(init.response.status).toBe(201);
    const checkpointId = init.data!.checkpointId!;
    const again = await client.POST('/v1/initializations', { body: { architectureId, method: 'kaiming', seed: 1 } });
    expect(again.response.status).toBe(200);
    expect(again.data?.checkpointId).toBe(checkpointId);
    expect((await client.GET('/v1/initializations/{id}', { params: { path: { id: init.data!.id } } })).data?.status).toBe('succeeded');
    expect((await client.GET('/v1/initializations', { params: { query: { architectureId } } })).data?.items).toHaveLength(1);

    const deployment = await client.POST('/v1/deployments', { body: { name: 'client-sq', checkpointId, engine: 'onnxruntime' } });
    expect(deployment.response.status).toBe(201);
    expect((await client.GET('/v1/deployments/{name}', { params: { path: { name: 'client-sq' } } })).data?.name).toBe('client-sq');
    expect((await client.GET('/v1/deployments')).data?.items.map((d) => d.name)).toEqual(['client-sq']);
    const metadata = await client.GET('/v2/models/{model}', { params: { path: { model: 'client-sq' } } });
    expect(metadata.data?.inputs[0]).toEqual({ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] });
    expect((await client.GET('/v2/models/{model}/ready', { params: { path: { model: 'client-sq' } } })).data?.ready).toBe(true);
    const data = Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i) / 2);
    const inferred = await client.POST('/v2/models/{model}/infer', {
      params: { path: { model: 'client-sq' } },
      body: { id: 'q1', inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data }] },
    });
    // JSON here; the same operation answers application/octet-stream for binary outputs.
    const answer = inferred.data as Exclude<typeof inferred.data, string | undefined>;
    expect(answer).toMatchObject({ model_name: 'client-sq', id: 'q1', outputs: [{ shape: [1, 1000], datatype: 'FP32' }] });
    expect((answer.outputs[0].data as number[]).every(Number.isFinite)).toBe(true);
    const unknown = await client.POST('/v2/models/{model}/infer', { params: { path: { model: 'nope' } }, body: { inputs: [] } });
    expect(unknown.response.status).toBe(404);

    expect((await client.DELETE('/v1/deployments/{name}', { params: { path: { name: 'client-sq' } } })).response.status).toBe(204);
    expect((await client.GET('/v2')).data?.extensions).toContain('binary_tensor_data');
    expect((await client.GET('/v2/health/ready')).response.status).toBe(200);
  }, 120_000);

  it('checked every response it received', () => {
    expect(seen.length).toBeGreaterThanOrEqual(30);
  });
});
