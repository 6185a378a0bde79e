import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { fixturesDir } from '../../core/testing/fixtures';
import type { AppConfig } from '../../infra/config/app-config';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import type { CheckpointReader } from '../checkpoints/checkpoint-reader';
import type { IngestedCheckpoint } from '../checkpoints/checkpoint-ingest';
import type { ManifestEntry } from '../checkpoints/checkpoint.types';
import type { CheckpointsService, ReceivedUpload, UploadOptions } from '../checkpoints/checkpoints.service';
import { ServiceError } from '../../core/service-error';
import type { GhnModel, NewGhnModel } from './ghn.types';
import { ghnNameTaken } from './ghns.errors';
import type { GhnsRepository } from './ghns.repository';
import { GhnsService } from './ghns.service';

// Stand-ins for the DI tokens keep Prisma and the jobs runner out of this unit test.
jest.mock('../checkpoints/checkpoints.service', () => ({ CheckpointsService: class CheckpointsService {} }));
jest.mock('../checkpoints/checkpoint-reader', () => ({ CheckpointReader: class CheckpointReader {} }));
jest.mock('./ghns.repository', () => ({ GhnsRepository: class GhnsRepository {} }));

const SHA = 'ab'.repeat(32);
const fixture = JSON.parse(readFileSync(fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.json'), 'utf8')) as { ctor_config: Record<string, unknown>; state_dict: [string, number[]][] };
const MANIFEST: ManifestEntry[] = fixture.state_dict.map(([name, shape]) => ({ name, shape, dtype: 'F32', byteOffset: 0, byteLength: 0 }));

class FakeRepository {
  rows: GhnModel[] = [];
  createError: unknown = null;
  async findByName(name: string) {
    return this.rows.find((r) => r.name === name) ?? null;
  }
  async find(id: string) {
    return this.rows.find((r) => r.id === id) ?? null;
  }
  async latest() {
    return this.rows[this.rows.length - 1] ?? null;
  }
  async create(input: NewGhnModel) {
    if (this.createError) throw this.createError;
    const row: GhnModel = { ...input, id: `ghn-${this.rows.length + 1}`, parameterCount: 1540464, createdAt: new Date() };
    this.rows.push(row);
    return row;
  }
  async delete(id: string) {
    const row = this.rows.find((r) => r.id === id);
    this.rows = this.rows.filter((r) => r.id !== id);
    return { checkpointId: row?.checkpointId ?? '' };
  }
}

/** Runs `prepare` as CheckpointsService.upload does, and "stores" the checkpoint only if it passes. */
class FakeCheckpoints {
  stored: string[] = [];
  deleted: string[] = [];
  deleteError: unknown = null;
  next = { name: 'ghn3tm8', fields: {} as Record<string, string>, manifest: MANIFEST };
  async upload(_received: ReceivedUpload, options: UploadOptions<unknown>) {
    const ingested: IngestedCheckpoint = { staged: { sha256: 'converted', size: 1 }, originalFormat: 'joblib', manifest: this.next.manifest, metadata: {} };
    const prepared = await options.prepare?.(ingested, this.next.fields, { name: this.next.name, sourceSha256: SHA });
    const id = `ckpt-${this.stored.length + 1}`;
    this.stored.push(id);
    return { checkpoint: { id }, prepared };
  }
  async delete(id: string) {
    if (this.deleteError) throw this.deleteError;
    this.deleted.push(id);
  }
  async get(id: string) {
    return { id };
  }
}

function setup(defaultName: string | null = null) {
  const repository = new FakeRepository();
  const checkpoints = new FakeCheckpoints();
  const config = { ghn: { defaultName, hubUrl: 'https://huggingface.co' } } as AppConfig;
  const references = new ReferenceRegistry();
  const service = new GhnsService(repository as unknown as GhnsRepository, checkpoints as unknown as CheckpointsService, {} as CheckpointReader, references, config);
  service.onModuleInit();
  return { repository, checkpoints, service, references };
}

async function refusal(promise: Promise<unknown>): Promise<ServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ServiceError)) throw new Error(`expected a ServiceError, got ${String(error)}`);
  return error;
}

const req: ReceivedUpload = { file: { sha256: SHA, size: 1 }, filename: 'ghn3tm8.pt', fields: {} };

describe('GhnsService', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  it('records an upload with the sha256 of the bytes sent and its normalised config', async () => {
    const { service, checkpoints } = setup();
    const ghn = await service.upload(req);
    expect(ghn).toMatchObject({
      name: 'ghn3tm8',
      checkpointId: 'ckpt-1',
      source: 'upload',
      sourceSha256: SHA,
      config: { impl: 'ghn3', graph_builder: 'ghn3', ctor_config: fixture.ctor_config },
    });
    expect(checkpoints.stored).toEqual(['ckpt-1']);
  });

  it('refuses a taken name before anything is stored', async () => {
    const { service, checkpoints } = setup();
    const first = await service.upload(req);
    const e = await refusal(service.upload(req));
    expect([e.code, e.details]).toEqual(['GHN_NAME_TAKEN', { name: 'ghn3tm8', ghnId: first.id }]);
    expect(checkpoints.stored).toEqual(['ckpt-1']);
  });

  it('refuses tensors that do not match the config, storing nothing', async () => {
    const { service, checkpoints } = setup();
    checkpoints.next.manifest = MANIFEST.filter((t) => !t.name.startsWith('gnn.2.'));
    checkpoints.next.fields = { config: JSON.stringify({ impl: 'ghn3', ctor_config: fixture.ctor_config }) };
    expect((await refusal(service.upload(req))).code).toBe('GHN_INVALID');
    expect(checkpoints.stored).toEqual([]);
  });

  it('removes the stored weights when it loses the race for the name', async () => {
    const { service, repository, checkpoints } = setup();
    repository.createError = ghnNameTaken('ghn3tm8');
    expect((await refusal(service.upload(req))).code).toBe('GHN_NAME_TAKEN');
    expect(checkpoints.deleted).toEqual(['ckpt-1']);
  });

  it('defaults to the most recent GHN, or to the one configured by name', async () => {
    const plain = setup();
    expect((await refusal(plain.service.getDefault())).message).toMatch(/no GHN is registered/);
    expect(await plain.service.defaultId()).toBeNull();
    await plain.service.upload(req);
    plain.checkpoints.next.name = 'newer';
    const newer = await plain.service.upload(req);
    expect((await plain.service.getDefault()).id).toBe(newer.id);
    expect((await plain.service.resolve(undefined)).checkpoint).toEqual({ id: newer.checkpointId });

    const named = setup('ghn3tm8');
    expect((await refusal(named.service.getDefault())).message).toMatch(/the default GHN "ghn3tm8" \(WEIGHTSMITH_DEFAULT_GHN\) is not registered/);
    named.checkpoints.next.name = 'other';
    await named.service.upload(req);
    expect(await named.service.defaultId()).toBeNull();
    named.checkpoints.next.name = 'ghn3tm8';
    const configured = await named.service.upload(req);
    named.checkpoints.next.name = 'newest';
    await named.service.upload(req);
    expect(await named.service.defaultId()).toBe(configured.id);
  });

  it('deletes the weights with the GHN, keeping them when something else uses them', async () => {
    const { service, checkpoints } = setup();
    const a = await service.upload(req);
    await service.delete(a.id);
    expect(checkpoints.deleted).toEqual([a.checkpointId]);
    checkpoints.next.name = 'b';
    const b = await service.upload(req);
    checkpoints.deleteError = new ServiceError('CHECKPOINT_IN_USE', 'in use');
    await expect(service.delete(b.id)).resolves.toBeUndefined();
    expect((await refusal(service.get(b.id))).code).toBe('GHN_NOT_FOUND');
  });

  it('refuses to delete a GHN that the reference registry reports in use, deleting nothing', async () => {
    const { service, checkpoints, references } = setup();
    const ghn = await service.upload(req);
    references.register('ghn', 'initialization', async (id) => (id === ghn.id ? { ids: ['init-1'], total: 3 } : { ids: [], total: 0 }));
    const e = await refusal(service.delete(ghn.id));
    expect([e.code, e.message, e.details]).toEqual(['GHN_IN_USE', `GHN ${ghn.id} is referenced by 3 initialization(s); delete them first`, { references: { initialization: ['init-1'] } }]);
    expect((await service.get(ghn.id)).id).toBe(ghn.id);
    expect(checkpoints.deleted).toEqual([]);
  });
});
