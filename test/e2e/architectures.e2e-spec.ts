import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import request from 'supertest';
import { ghnGraphsEqual, parseGhnGraphJson } from '../../src/core/graph/ghn';
import { zooNames } from '../../src/core/graph/zoo';
import { fixturesDir } from '../../src/core/testing/fixtures';
import { draftFromZoo } from '../../src/modules/architectures/architecture-drafts';
import { ArchitecturesRepository } from '../../src/modules/architectures/architectures.repository';
import { temporaryBlobFiles } from '../utils/blob-files';
import { smallCheckpoint } from '../utils/safetensors-builders';
import { auth, databaseLabel, startTestApp, type TestApp } from '../utils/test-app';

const RESNET18_ONNX = fixturesDir('arch', 'onnx', 'resnet18.onnx');
const GHN_GRAPHS = fixturesDir('ghn', 'graphs');
const MAX_UPLOAD = 4 * 1024 * 1024;

/** A two-node canonical graph: y = relu(x · fc.weightᵀ + fc.bias). */
/** A valid graph whose input could never be allocated: [batch, 3, 2^31, 2^31]. */
function hugeInputGraph(): Record<string, unknown> {
  return {
    format: 'weightsmith.graph/v1',
    name: 'huge',
    opset: 17,
    inputs: [{ name: 'x', dtype: 'F32', shape: ['batch', 3, 2 ** 31, 2 ** 31] }],
    outputs: [{ name: 'y', dtype: 'F32', shape: [] }],
    initializers: [],
    nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
  };
}

function tinyGraph(): { nodes: Record<string, unknown>[] } & Record<string, unknown> {
  return {
    format: 'weightsmith.graph/v1',
    name: 'tiny',
    opset: 17,
    inputs: [{ name: 'x', dtype: 'F32', shape: ['batch', 4] }],
    outputs: [{ name: 'y', dtype: 'F32', shape: ['batch', 2] }],
    initializers: [
      { name: 'fc.weight', dtype: 'F32', shape: [2, 4], isParameter: true },
      { name: 'fc.bias', dtype: 'F32', shape: [2], isParameter: true },
    ],
    nodes: [
      { name: '/fc/Gemm', opType: 'Gemm', inputs: ['x', 'fc.weight', 'fc.bias'], outputs: ['h'], attributes: { transB: 1 } },
      { name: '/relu/Relu', opType: 'Relu', inputs: ['h'], outputs: ['y'], attributes: {} },
    ],
  };
}

function cyclicGraph(): Record<string, unknown> {
  const g = tinyGraph();
  g.nodes = [
    g.nodes[0],
    { name: 'add', opType: 'Add', inputs: ['h', 'z'], outputs: ['a'], attributes: {} },
    { name: 'relu', opType: 'Relu', inputs: ['a'], outputs: ['z'], attributes: {} },
    { name: 'out', opType: 'Identity', inputs: ['a'], outputs: ['y'], attributes: {} },
  ];
  return g;
}

function unknownOpGraph(): Record<string, unknown> {
  const g = tinyGraph();
  g.nodes[1] = { ...g.nodes[1], opType: 'FancyRelu' };
  return g;
}

/**
 * Checks that `text` is well-formed XML (one root, balanced tags, quoted attributes, known entities)
 * and returns its root element name and decoded text content.
 */
function parseXml(text: string): { root: string; texts: string[] } {
  const body = text.replace(/^\uFEFF?\s*<\?xml[^?]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '').replace(/<!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>/, '');
  const token = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)|(<)/g;
  const stack: string[] = [];
  const texts: string[] = [];
  let root = '';
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    const [, closing, name, , selfClosing, chars, stray] = m;
    if (stray) throw new Error(`malformed markup at offset ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (chars !== undefined) {
      if (chars.replace(entity, '').includes('&')) throw new Error(`bad entity near ${chars.slice(0, 40)}`);
      if (stack.length === 0 && chars.trim() !== '') throw new Error('text outside the root element');
      if (chars.trim() !== '') texts.push(chars.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
      continue;
    }
    if (closing) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else {
      if (stack.length === 0 && root !== '') throw new Error('more than one root element');
      if (stack.length === 0) root = name;
      if (!selfClosing) stack.push(name);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]}>`);
  return { root, texts };
}

describe(`architectures API (${databaseLabel()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { WEIGHTSMITH_MAX_UPLOAD_BYTES: String(MAX_UPLOAD) } });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (body: unknown) => request(t.url).post('/v1/architectures').set(auth()).send(body as object);
  const upload = (file: Buffer | string, filename = 'model.onnx', fields: Record<string, string> = {}) => {
    let req = request(t.url).post('/v1/architectures/upload').set(auth());
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req.attach('file', file, filename);
  };
  const get = (path: string) => request(t.url).get(`/v1/architectures${path}`).set(auth());

  it('refuses bad input with stable codes and stores nothing', async () => {
    const id = randomUUID();
    const cases: [string, () => request.Test, number, string][] = [
      ['a malformed ONNX file', () => upload(Buffer.from('this is not a protobuf at all')), 422, 'ONNX_INVALID'],
      ['a truncated ONNX file', () => upload(readFileSync(RESNET18_ONNX).subarray(0, 5000)), 422, 'ONNX_INVALID'],
      ['a cyclic graph', () => post({ graph: cyclicGraph() }), 422, 'GRAPH_CYCLE'],
      ['a cyclic graph file', () => upload(Buffer.from(JSON.stringify(cyclicGraph())), 'cyclic.json'), 422, 'GRAPH_CYCLE'],
      ['an unknown op', () => post({ graph: unknownOpGraph() }), 422, 'GRAPH_UNKNOWN_OP'],
      ['a graph missing fields', () => post({ graph: { format: 'weightsmith.graph/v1', nodes: 'x' } }), 422, 'GRAPH_INVALID'],
      ['a graph file that is not JSON', () => upload(Buffer.from('{ "format": '), 'graph.json'), 422, 'GRAPH_INVALID'],
      // A NUL anywhere in a JSON body is refused before the body is read (neither database stores one).
      ['a NUL character in the graph', () => post({ graph: { ...tinyGraph(), nodes: [{ ...tinyGraph().nodes[0], name: 'fc\u0000' }, tinyGraph().nodes[1]] } }), 400, 'VALIDATION_FAILED'],
      ['a NUL character in the graph file', () => upload(Buffer.from(JSON.stringify({ ...tinyGraph(), nodes: [{ ...tinyGraph().nodes[0], name: 'fc\u0000' }, tinyGraph().nodes[1]] })), 'tiny.json'), 400, 'VALIDATION_FAILED'],
      ['a NUL character in the name', () => post({ graph: tinyGraph(), name: 'tiny\u0000' }), 400, 'VALIDATION_FAILED'],
      ['an input of 2^31 x 2^31 pixels', () => post({ graph: hugeInputGraph() }), 422, 'GRAPH_INVALID'],
      ['an input of 2^31 x 2^31 pixels as a file', () => upload(Buffer.from(JSON.stringify(hugeInputGraph())), 'huge.json'), 422, 'GRAPH_INVALID'],
      ['an invalid GHN graph', () => post({ ghnGraph: { builder: 'ghn3', nodes: [] } }), 422, 'GRAPH_INVALID'],
      ['a graph that is not an object', () => post({ graph: 'resnet' }), 400, 'VALIDATION_FAILED'],
      ['an unknown zoo model', () => post({ zoo: 'resnet51' }), 404, 'ZOO_UNKNOWN_MODEL'],
      ['two sources', () => post({ zoo: 'resnet18', graph: tinyGraph() }), 400, 'VALIDATION_FAILED'],
      ['no source', () => post({ name: 'nothing' }), 400, 'VALIDATION_FAILED'],
      ['numClasses without zoo', () => post({ graph: tinyGraph(), numClasses: 10 }), 400, 'VALIDATION_FAILED'],
      ['numClasses of zero', () => post({ zoo: 'resnet18', numClasses: 0 }), 400, 'VALIDATION_FAILED'],
      ['inChannels without zoo', () => post({ graph: tinyGraph(), inChannels: 1 }), 400, 'VALIDATION_FAILED'],
      ['inChannels of zero', () => post({ zoo: 'resnet20', inChannels: 0 }), 400, 'VALIDATION_FAILED'],
      ['inChannels over the limit', () => post({ zoo: 'resnet20', inChannels: 1025 }), 400, 'VALIDATION_FAILED'],
      ['fractional inChannels', () => post({ zoo: 'resnet20', inChannels: 1.5 }), 400, 'VALIDATION_FAILED'],
      ['an unknown property', () => post({ zoo: 'resnet18', colour: 'blue' }), 400, 'VALIDATION_FAILED'],
      ['an unknown upload field', () => upload(readFileSync(RESNET18_ONNX), 'r.onnx', { colour: 'blue' }), 400, 'INVALID_FIELD'],
      ['an empty upload', () => upload(Buffer.alloc(0)), 400, 'FILE_EMPTY'],
      ['an upload over the limit', () => upload(Buffer.alloc(MAX_UPLOAD + 1024, 1)), 413, 'UPLOAD_TOO_LARGE'],
      ['a text body', () => request(t.url).post('/v1/architectures').set(auth()).set('Content-Type', 'text/plain').send('zoo=resnet18'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['a JSON body on the upload route', () => request(t.url).post('/v1/architectures/upload').set(auth()).send({ zoo: 'resnet18' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['an upload without a file', () => request(t.url).post('/v1/architectures/upload').set(auth()).field('name', 'nothing'), 400, 'FILE_MISSING'],
      ['an unknown id', () => get(`/${id}`), 404, 'ARCHITECTURE_NOT_FOUND'],
      ['the graph of an unknown id', () => get(`/${id}/graph`), 404, 'ARCHITECTURE_NOT_FOUND'],
      ['the GHN graph of an unknown id', () => get(`/${id}/ghn-graph`), 404, 'ARCHITECTURE_NOT_FOUND'],
      ['the SVG of an unknown id', () => get(`/${id}/graph.svg`), 404, 'ARCHITECTURE_NOT_FOUND'],
      ['deleting an unknown id', () => request(t.url).delete(`/v1/architectures/${id}`).set(auth()), 404, 'ARCHITECTURE_NOT_FOUND'],
      ['an id that is not a UUID', () => get('/resnet50'), 400, 'VALIDATION_FAILED'],
      ['an unknown builder', () => get(`/${id}/ghn-graph?builder=ghn4`), 400, 'VALIDATION_FAILED'],
      ['an unknown source filter', () => get('?source=pytorch'), 400, 'VALIDATION_FAILED'],
    ];
    for (const [label, send, status, code] of cases) {
      const res = await send();
      expect({ label, status: res.status, code: res.body.code }).toEqual({ label, status, code });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect((await get('').expect(200)).body).toEqual({ items: [], nextCursor: null });
    expect(await temporaryBlobFiles(t.dataDir)).toEqual([]);
  });

  let resnet50Id = '';

  it('stores zoo:resnet50 once: 201, then 200 with the same id', async () => {
    const first = await post({ zoo: 'resnet50' }).expect(201);
    expect(first.headers.location).toBe(`/v1/architectures/${first.body.id}`);
    expect(first.body).toMatchObject({
      name: 'resnet50',
      family: 'resnet',
      source: 'zoo',
      executable: true,
      modelClass: 'ResNet',
      parameterCount: 25557032,
      inputs: [{ name: 'input', dtype: 'F32', shape: ['batch', 3, 224, 224] }],
      outputs: [{ dtype: 'F32', shape: ['batch', 1000] }],
    });
    expect(first.body.opHistogram).toMatchObject({ Conv: 53, BatchNormalization: 53, Gemm: 1 });
    // torchvision reports 4.09 GFLOPS (multiply-accumulates) for ResNet-50.
    expect(first.body.macs / 1e9).toBeCloseTo(4.09, 2);
    expect(first.body.flops).toBeGreaterThan(2 * first.body.macs);
    expect(first.body.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(Math.abs(Date.parse(first.body.createdAt) - Date.now())).toBeLessThan(60_000);

    const again = await post({ zoo: 'resnet50', name: 'another name' }).expect(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.name).toBe('resnet50');
    expect((await get(`/${first.body.id}`).expect(200)).body).toEqual(first.body);
    const other = await post({ zoo: 'resnet50', numClasses: 10 }).expect(201);
    expect(other.body.id).not.toBe(first.body.id);
    expect(other.body.parameterCount).toBe(25557032 - 2048 * 990 - 990);
    resnet50Id = first.body.id;
  });

  it('draws resnet50 as an SVG naming its ops and modules', async () => {
    const res = await get(`/${resnet50Id}/graph.svg`).buffer(true).parse((r, done) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (text += c));
      r.on('end', () => done(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const xml = parseXml(res.body as string);
    expect(xml.root).toBe('svg');
    const text = xml.texts.join('\n');
    expect(text).toContain('Conv');
    expect(text).toContain('layer1.0.conv1');
    expect(text).toContain('Gemm');
  });

  it('imports the resnet18 ONNX export: official GHN graphs, the zoo state_dict names', async () => {
    const onnx = await upload(RESNET18_ONNX, 'resnet18.onnx').expect(201);
    expect(onnx.body).toMatchObject({ name: 'resnet18', source: 'onnx', family: null, executable: true, parameterCount: 11689512 });
    expect(onnx.headers.location).toBe(`/v1/architectures/${onnx.body.id}`);
    // A multipart body on the JSON route is still taken, as before the upload route existed.
    expect((await request(t.url).post('/v1/architectures').set(auth()).attach('file', RESNET18_ONNX).expect(200)).body.id).toBe(onnx.body.id);
    for (const builder of ['ghn3', 'ppuda']) {
      const res = await get(`/${onnx.body.id}/ghn-graph?builder=${builder}`).expect(200);
      expect(res.body.builder).toBe(builder);
      const expected = parseGhnGraphJson(readFileSync(`${GHN_GRAPHS}/${builder}/resnet18.json`, 'utf8'));
      expect(ghnGraphsEqual(parseGhnGraphJson(res.body), expected).differences).toEqual([]);
    }
    const byDefault = await get(`/${onnx.body.id}/ghn-graph`).expect(200);
    expect(byDefault.body.builder).toBe('ghn3');

    // Two architectures: the export drops BatchNorm's num_batches_tracked buffers, so the
    // initializers (and the content hashes) differ, and the importer cannot know the model class.
    const zoo = await post({ zoo: 'resnet18' }).expect(201);
    expect(zoo.body.contentHash).not.toBe(onnx.body.contentHash);
    expect(zoo.body.id).not.toBe(onnx.body.id);
    expect((await post({ zoo: 'resnet18' }).expect(200)).body.id).toBe(zoo.body.id);

    const onnxGraph = (await get(`/${onnx.body.id}/graph`).expect(200)).body;
    const zooGraph = (await get(`/${zoo.body.id}/graph`).expect(200)).body;
    expect(onnxGraph.format).toBe('weightsmith.graph/v1');
    type Init = { name: string; dtype: string; shape: number[]; isParameter: boolean };
    const entries = (g: { initializers: Init[] }) => g.initializers.map((i) => [i.name, i.dtype, i.shape, i.isParameter]);
    // The exporter drops initializers the eval graph never reads: BatchNorm's num_batches_tracked.
    const used = (g: { initializers: Init[] }) => entries(g).filter(([name]) => !String(name).endsWith('.num_batches_tracked'));
    expect(used(onnxGraph)).toEqual(used(zooGraph));
    expect(entries(onnxGraph).length).toBe(102);
  });

  it('round-trips the small custom GHN graphs (executable: false)', async () => {
    const zoo = new Set(zooNames());
    let checked = 0;
    for (const builder of ['ghn3', 'ppuda'] as const) {
      for (const file of readdirSync(`${GHN_GRAPHS}/${builder}`).filter((f) => f.endsWith('.json') && !zoo.has(f.slice(0, -5)))) {
        const label = `${builder}/${file}`;
        const json = JSON.parse(readFileSync(`${GHN_GRAPHS}/${builder}/${file}`, 'utf8'));
        const created = await post({ ghnGraph: json });
        expect({ label, status: created.status }).toEqual({ label, status: 201 });
        expect(created.body).toMatchObject({ name: json.arch, source: 'ghn-graph', executable: false, parameterCount: null, macs: null });
        const id = created.body.id as string;
        const back = await get(`/${id}/ghn-graph?builder=${builder}`).expect(200);
        expect({ label, differences: ghnGraphsEqual(parseGhnGraphJson(back.body), parseGhnGraphJson(json)).differences }).toEqual({ label, differences: [] });
        expect((await get(`/${id}/ghn-graph`).expect(200)).body.builder).toBe(builder);

        const otherBuilder = builder === 'ghn3' ? 'ppuda' : 'ghn3';
        for (const path of [`/${id}/graph`, `/${id}/graph.svg`, `/${id}/ghn-graph?builder=${otherBuilder}`]) {
          const refused = await get(path);
          expect({ label, path, status: refused.status, code: refused.body.code }).toEqual({ label, path, status: 409, code: 'ARCHITECTURE_NOT_EXECUTABLE' });
        }
        const asFile = await upload(Buffer.from(JSON.stringify({ ...json, arch: 'renamed' })), `${file}`).expect(200);
        expect(asFile.body.id).toBe(id);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
    const listed = await get('?source=ghn-graph&limit=200').expect(200);
    expect(listed.body.items).toHaveLength(checked);
  });

  it('stores a canonical graph posted as JSON and returns it', async () => {
    const created = await post({ graph: tinyGraph(), name: 'tiny-mlp' }).expect(201);
    expect(created.body).toMatchObject({ name: 'tiny-mlp', source: 'graph-json', parameterCount: 10, macs: 8, opHistogram: { Gemm: 1, Relu: 1 } });
    const graph = await get(`/${created.body.id}/graph`).expect(200);
    expect(graph.body).toMatchObject({ ...tinyGraph(), name: 'tiny-mlp' });
    const asFile = await upload(Buffer.from(JSON.stringify(graph.body)), 'tiny.json').expect(200);
    expect(asFile.body.id).toBe(created.body.id);
  });

  it('builds ghn3 but not ppuda GHN graphs of a ViT', async () => {
    const vit = await post({ zoo: 'vit_b_32' }).expect(201);
    expect(vit.body.modelClass).toBe('VisionTransformer');
    await get(`/${vit.body.id}/ghn-graph?builder=ghn3`).expect(200);
    const refused = await get(`/${vit.body.id}/ghn-graph?builder=ppuda`).expect(422);
    expect(refused.body.code).toBe('GHN_GRAPH_UNSUPPORTED');
  });

  it('stores identical concurrent posts once', async () => {
    const results = await Promise.all([post({ zoo: 'squeezenet1_1' }), post({ zoo: 'squeezenet1_1' }), post({ zoo: 'squeezenet1_1' })]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect((await get('?name=squeezenet1_1').expect(200)).body.items).toHaveLength(1);
  });

  it('resolves a race on the content-hash index to the existing row', async () => {
    // Both inserts pass the existence check before either commits, so one must hit the unique index.
    const repository = t.app.get(ArchitecturesRepository);
    const draft = draftFromZoo('squeezenet1_0', {});
    const [a, b] = await Promise.all([repository.createOrFind(draft), repository.createOrFind(draft)]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(a.architecture.id).toBe(b.architecture.id);
  });

  it('lists with cursor pagination and filters', async () => {
    const all = (await get('?limit=200').expect(200)).body.items as { id: string; family: string | null; source: string }[];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await get('').query({ limit: 3, ...(cursor ? { cursor } : {}) }).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((a: { id: string }) => a.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((a) => a.id));
    const resnets = (await get('?family=resnet').expect(200)).body.items as { family: string }[];
    expect(resnets.length).toBe(all.filter((a) => a.family === 'resnet').length);
    expect(resnets.length).toBeGreaterThanOrEqual(2);
    const zoo = (await get('?source=zoo').expect(200)).body.items as { source: string }[];
    expect(zoo.every((a) => a.source === 'zoo')).toBe(true);
  });

  it('lists the zoo with parameter counts', async () => {
    const res = await request(t.url).get('/v1/zoo').set(auth()).expect(200);
    expect(res.body.items.length).toBeGreaterThanOrEqual(60);
    expect(res.body.items.find((m: { name: string }) => m.name === 'resnet50')).toEqual({
      name: 'resnet50',
      family: 'resnet',
      modelClass: 'ResNet',
      parameterCount: 25557032,
      inputShape: ['batch', 3, 224, 224],
    });
    expect(res.body.items.find((m: { name: string }) => m.name === 'inception_v3').inputShape).toEqual(['batch', 3, 299, 299]);
    expect(res.body.items.find((m: { name: string }) => m.name === 'resnet20')).toEqual({
      name: 'resnet20',
      family: 'resnet_cifar',
      modelClass: 'CifarResNet',
      parameterCount: 272474,
      inputShape: ['batch', 3, 32, 32],
    });
  });

  it('stores a CIFAR-style ResNet for 28×28 grayscale images', async () => {
    const created = await post({ zoo: 'resnet20', inChannels: 1, imageSize: 28 }).expect(201);
    expect(created.body).toMatchObject({
      name: 'resnet20',
      family: 'resnet_cifar',
      modelClass: 'CifarResNet',
      parameterCount: 272474 - 2 * 16 * 9,
      inputs: [{ name: 'input', dtype: 'F32', shape: ['batch', 1, 28, 28] }],
      outputs: [{ dtype: 'F32', shape: ['batch', 10] }],
    });
    const rgb = await post({ zoo: 'resnet20', imageSize: 28 }).expect(201);
    expect(rgb.body.id).not.toBe(created.body.id);
    const graph = (await get(`/${created.body.id}/graph`).expect(200)).body;
    expect(graph.initializers.find((i: { name: string }) => i.name === 'conv1.weight').shape).toEqual([16, 1, 3, 3]);
  });

  it('refuses to delete an architecture a checkpoint references (409)', async () => {
    // A graph of its own (other tests store tinyGraph(); the content hash ignores names).
    const g = tinyGraph();
    const graph = { ...g, nodes: [g.nodes[0], { ...g.nodes[1], name: '/act/Sigmoid', opType: 'Sigmoid' }] };
    const arch = await post({ graph, name: 'to-delete' }).expect(201);
    const id = arch.body.id as string;
    const checkpoint = await request(t.url).post('/v1/checkpoints').set(auth()).field('architectureId', id).attach('file', smallCheckpoint(42), 'c.safetensors').expect(201);
    const refused = await request(t.url).delete(`/v1/architectures/${id}`).set(auth()).expect(409);
    expect(refused.body.code).toBe('ARCHITECTURE_IN_USE');
    expect(refused.body.details).toEqual({ references: { checkpoint: [checkpoint.body.id] } });
    expect(refused.body.detail).toBe(`architecture ${id} is referenced by 1 checkpoint(s); delete them first`);
    await get(`/${id}`).expect(200);
    await request(t.url).delete(`/v1/checkpoints/${checkpoint.body.id}`).set(auth()).expect(204);
    await request(t.url).delete(`/v1/architectures/${id}`).set(auth()).expect(204);
    await get(`/${id}`).expect(404);
  });
});
