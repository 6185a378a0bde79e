import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { loadGhnFromTensorSet, type Ghn } from '../../core/ghn';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import type { Cursor } from '../../http/pagination';
import type { IngestedCheckpoint } from '../checkpoints/checkpoint-ingest';
import { CheckpointReader } from '../checkpoints/checkpoint-reader';
import type { Checkpoint } from '../checkpoints/checkpoint.types';
import { CheckpointsService, type ReceivedUpload, type StagedUpload, type UploadContext } from '../checkpoints/checkpoints.service';
import { ServiceError } from '../../core/service-error';
import { findNulCharacter, nulCharacterMessage } from '../../core/storable-text';
import { GhnCache } from './ghn-cache';
import { checkGhnTensors, chooseGhnConfig, hasTopLevelCentrality, toGhnConfigDocument } from './ghn-config-document';
import { GHN_CHECKPOINT_KIND, type GhnFilter, type GhnModel, type NewGhnModel } from './ghn.types';
import { ghnInUse, ghnNameTaken, ghnNotFound } from './ghns.errors';
import { GhnsRepository } from './ghns.repository';

/** A GHN with the checkpoint holding its weights. */
export interface ResolvedGhn {
  ghn: GhnModel;
  checkpoint: Checkpoint;
}

/** What `prepare` decides about an upload, before its checkpoint exists. */
type GhnDraft = Omit<NewGhnModel, 'checkpointId'>;

/** Loaded GHNs kept in memory (each holds all its weights as tensors). */
const LOADED_GHNS = 2;

@Injectable()
export class GhnsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(GhnsService.name);
  private readonly loaded = new GhnCache(LOADED_GHNS);

  constructor(
    private readonly repository: GhnsRepository,
    private readonly checkpoints: CheckpointsService,
    private readonly reader: CheckpointReader,
    private readonly references: ReferenceRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // A GHN keeps the checkpoint holding its weights.
    this.references.register('checkpoint', 'ghn', (id, limit) => this.repository.usingCheckpoint(id, limit));
  }

  /** Stages an uploaded GHN file as it arrives (through the checkpoints module). */
  stageUpload(stream: Readable): Promise<StagedUpload> {
    return this.checkpoints.stageUpload(stream);
  }

  discardUpload(staged: StagedUpload): Promise<void> {
    return this.checkpoints.discardStaged(staged);
  }

  onModuleDestroy(): void {
    this.loaded.clear();
  }

  /**
   * Stores an uploaded GHN checkpoint (multipart `file`, optional `name` and `config`) as a
   * checkpoint of kind `ghn`. Its config must describe exactly its tensors, else nothing is stored.
   */
  async upload(received: ReceivedUpload): Promise<GhnModel> {
    const { checkpoint, prepared } = await this.checkpoints.upload<GhnDraft>(received, {
      kind: GHN_CHECKPOINT_KIND,
      extraFields: ['config'],
      prepare: (ingested, fields, upload) => this.prepare(ingested, fields, upload),
    });
    const draft = prepared as GhnDraft; // set: prepare runs on every stored upload
    try {
      const ghn = await this.repository.create({ ...draft, checkpointId: checkpoint.id });
      this.logger.log({ msg: 'ghn stored', id: ghn.id, name: ghn.name, checkpointId: checkpoint.id, impl: ghn.config.impl });
      return ghn;
    } catch (e) {
      // Lost a race for the name (or the insert failed): the weights were stored for nothing.
      await this.checkpoints.delete(checkpoint.id).catch((err: unknown) => this.logger.warn({ msg: 'could not remove the weights of a refused ghn', checkpointId: checkpoint.id, error: String(err) }));
      throw e;
    }
  }

  private async prepare(ingested: IngestedCheckpoint, fields: Record<string, string>, upload: UploadContext): Promise<GhnDraft> {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(upload.name)) throw new ServiceError('INVALID_FIELD', 'name: must not contain control characters', { field: 'name' });
    const taken = await this.repository.findByName(upload.name);
    if (taken) throw ghnNameTaken(upload.name, taken.id);
    const { config, origin } = chooseGhnConfig(fields.config, ingested.metadata, ingested.manifest);
    checkGhnTensors(ingested.manifest, config, origin);
    const draft: GhnDraft = {
      name: upload.name,
      config: toGhnConfigDocument(config, hasTopLevelCentrality(ingested.manifest)),
      source: 'upload',
      sourceSha256: upload.sourceSha256,
    };
    // Refused here, before the weights are stored, rather than by the database after.
    const nul = findNulCharacter(draft.config, 'config');
    if (nul !== null) throw new ServiceError('VALIDATION_FAILED', nulCharacterMessage(nul), { field: nul });
    return draft;
  }

  async get(id: string): Promise<GhnModel> {
    const ghn = await this.repository.find(id);
    if (!ghn) throw ghnNotFound(id);
    return ghn;
  }

  list(filter: GhnFilter, limit: number, cursor?: Cursor): Promise<GhnModel[]> {
    return this.repository.list(filter, limit, cursor);
  }

  /** The GHN named by WEIGHTSMITH_DEFAULT_GHN, else the most recently added one. */
  async getDefault(): Promise<GhnModel> {
    const name = this.config.ghn.defaultName;
    if (name !== null) {
      const named = await this.repository.findByName(name);
      if (!named) {
        throw new ServiceError('GHN_NOT_FOUND', `the default GHN ${JSON.stringify(name)} (WEIGHTSMITH_DEFAULT_GHN) is not registered: upload it or run \`weightsmith ghn fetch\``, { name });
      }
      return named;
    }
    const latest = await this.repository.latest();
    if (!latest) throw new ServiceError('GHN_NOT_FOUND', 'no GHN is registered: upload one to POST /v1/ghns or run `weightsmith ghn fetch`');
    return latest;
  }

  /** Id of the default GHN, or null when there is none (to flag it in listings). */
  async defaultId(): Promise<string | null> {
    return this.getDefault().then(
      (ghn) => ghn.id,
      (e: unknown) => {
        if (e instanceof ServiceError && e.code === 'GHN_NOT_FOUND') return null;
        throw e;
      },
    );
  }

  /** A GHN by id, or the default one, with the checkpoint holding its weights. */
  async resolve(ghnId: string | undefined): Promise<ResolvedGhn> {
    const ghn = ghnId === undefined ? await this.getDefault() : await this.get(ghnId);
    return { ghn, checkpoint: await this.checkpoints.get(ghn.checkpointId) };
  }

  /**
   * The GHN ready to predict, loaded from its stored weights on first use and cached (the last
   * two used stay loaded). An evicted GHN is disposed: to hold one across awaits, use `withGhn`.
   */
  loadForPrediction(ghnId: string): Promise<Ghn> {
    return this.loaded.get(ghnId, () => this.load(ghnId));
  }

  /** Runs `fn` with the loaded GHN, which is not disposed before `fn` settles. */
  withGhn<T>(ghnId: string, fn: (ghn: Ghn) => T | Promise<T>): Promise<T> {
    return this.loaded.use(ghnId, () => this.load(ghnId), fn);
  }

  private async load(ghnId: string): Promise<Ghn> {
    const { ghn, checkpoint } = await this.resolve(ghnId);
    const started = performance.now();
    const loaded = await this.reader.openTensors(checkpoint, (tensors) => loadGhnFromTensorSet(tensors, ghn.config));
    this.logger.log({ msg: 'ghn loaded', id: ghn.id, name: ghn.name, parameters: loaded.numParameters, ms: Math.round(performance.now() - started) });
    return loaded;
  }

  /**
   * Deletes the GHN (409 GHN_IN_USE while an initialization references it), then its weights'
   * checkpoint unless something else references that too.
   */
  async delete(id: string): Promise<void> {
    await this.get(id);
    const refs = await this.references.find('ghn', id);
    if (refs.length > 0) throw ghnInUse(id, refs);
    const { checkpointId } = await this.repository.delete(id);
    this.loaded.evict(id);
    let weightsRemoved = true;
    await this.checkpoints.delete(checkpointId).catch((e: unknown) => {
      weightsRemoved = false;
      const code = e instanceof ServiceError ? e.code : 'INTERNAL';
      this.logger.warn({ msg: 'ghn deleted; its weights checkpoint was kept', id, checkpointId, code, error: code === 'INTERNAL' ? String(e) : undefined });
    });
    this.logger.log({ msg: 'ghn deleted', id, checkpointId, weightsRemoved });
  }
}
