import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { layoutDifferences, planPopulationPull, pullRule, tensorLayout, type PullRule } from '../../core/averaging/population-pull';
import { readSafetensorsHeader, writeSafetensors } from '../../core/formats/safetensors';
import { withFileSource, type RandomAccessSource } from '../../core/io/random-access';
import { ServiceError } from '../../core/service-error';
import { findNulCharacter, nulCharacterMessage } from '../../core/storable-text';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { ScratchSpace, type SpooledFile } from '../../infra/scratch/scratch-space';
import type { Cursor } from '../../http/pagination';
import { ArchitecturesService } from '../architectures/architectures.service';
import { SharedBlobs } from '../checkpoints/shared-blobs';
import type { NewPopulation, PopulationMemberRecord, PopulationRecord, PopulationSnapshot, PopulationView } from './population.types';
import { layoutMismatch, PopulationsRepository } from './populations.repository';

/** A snapshot's versions stay stored this long at most when its reader never releases them (it died). */
const READ_HOLD_MS = 15 * 60_000;

export interface CreatePopulationInput {
  name?: string;
  size: number;
  variant: NewPopulation['variant'];
  alpha?: number;
  every?: number;
  seed?: number;
  staleAfterSeconds?: number;
  architectureId?: string;
}

export interface PushInput {
  id: string;
  k: number;
  step: number;
  /** The pushed safetensors, spooled to scratch (removed by `push` whatever happens). */
  file: SpooledFile;
}

/** Pulled or averaged weights, in a scratch file that `openResult` streams once and removes. */
export interface PopulationResult {
  file: SpooledFile;
  /** The member versions the result was computed from, by k. */
  snapshot: Pick<PopulationMemberRecord, 'k' | 'version' | 'step'>[];
  /** The push's version (pulls only). */
  version?: number;
  /** What was applied: papa, papa-all, papa-2 or none. */
  applied: PullRule['variant'];
}

export const DEFAULT_ALPHA = 0.99;
export const DEFAULT_STALE_AFTER_SECONDS = 600;

/**
 * PAPA populations coordinated for trainers running elsewhere. A push stores the member's weights
 * (blob store, through SharedBlobs) as its latest version and answers its pull, computed from one
 * snapshot of the latest versions of the active members (those that pushed within
 * staleAfterSeconds). Replaced versions are kept until no snapshot that lists them is being read.
 */
@Injectable()
export class PopulationsService {
  private readonly logger = new Logger(PopulationsService.name);

  constructor(
    private readonly repository: PopulationsRepository,
    private readonly blobs: SharedBlobs,
    private readonly scratch: ScratchSpace,
    private readonly architectures: ArchitecturesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(input: CreatePopulationInput): Promise<PopulationView> {
    if (input.variant !== 'papa' && input.alpha !== undefined) throw new ServiceError('POPULATION_INVALID', `alpha applies to the papa variant only, not ${input.variant}`, { field: 'alpha' });
    if (input.architectureId) await this.architectures.get(input.architectureId);
    const population = await this.repository.create({
      name: input.name ?? 'population',
      mode: 'coordinated',
      size: input.size,
      variant: input.variant,
      alpha: input.variant === 'papa' ? (input.alpha ?? DEFAULT_ALPHA) : null,
      every: input.every ?? 1,
      seed: input.seed ?? 0,
      staleAfterSeconds: input.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS,
      architectureId: input.architectureId ?? null,
    });
    return { population, members: [], warnings: [] };
  }

  async get(id: string): Promise<PopulationRecord> {
    const population = await this.repository.find(id);
    if (!population) throw new ServiceError('POPULATION_NOT_FOUND', `population ${id} does not exist`);
    return population;
  }

  /** The population with its members (active or stale) and a warning for every stale one. */
  async view(id: string, now = new Date()): Promise<PopulationView> {
    const population = await this.get(id);
    return this.toView(population, await this.repository.members(id), now);
  }

  async list(limit: number, cursor?: Cursor): Promise<PopulationView[]> {
    const rows = await this.repository.list(limit, cursor);
    const now = new Date();
    return Promise.all(rows.map(async (p) => this.toView(p, await this.repository.members(p.id), now)));
  }

  async delete(id: string): Promise<void> {
    await this.repository.delete(id, (sha) => this.blobs.delete(sha));
  }

  /** Checks a push's target before its body is read: the population exists and k is one of its members. */
  async checkMember(id: string, k: number): Promise<PopulationRecord> {
    const population = await this.get(id);
    if (k >= population.size) throw new ServiceError('POPULATION_MEMBER_NOT_FOUND', `population ${id} has members 0 to ${population.size - 1}, not ${k}`, { k, size: population.size });
    return population;
  }

  /** Spools a pushed body to scratch as it arrives (bounded by WEIGHTSMITH_MAX_UPLOAD_BYTES). */
  spoolUpload(stream: Readable): Promise<SpooledFile> {
    return this.scratch.spool(stream, this.config.limits.maxUploadBytes);
  }

  /**
   * Stores member k's new weights and returns its pull. Everything that can be refused is refused
   * before anything is stored: malformed safetensors (422), a NUL in a tensor name or metadata
   * (400), a layout other than the population's (422).
   */
  async push(input: PushInput): Promise<PopulationResult> {
    try {
      const population = await this.checkMember(input.id, input.k);
      if (input.file.size === 0) throw new ServiceError('FILE_EMPTY', 'the body is empty: send the member weights as safetensors');
      const header = await withFileSource(input.file.path, (s) => readSafetensorsHeader(s));
      const nul = findNulCharacter({ tensors: header.tensors.map((t) => t.name), metadata: header.metadata ?? {} });
      if (nul !== null) throw new ServiceError('VALIDATION_FAILED', nulCharacterMessage(`the weights' ${nul}`), { field: nul });
      const layout = tensorLayout(header);
      if (population.layout) {
        const differences = layoutDifferences(population.layout, layout);
        if (differences.length > 0) throw layoutMismatch(differences);
      }
      const { staged } = await this.blobs.writeStaged((sink) => copyInto(input.file.path, sink));
      let stored: { version: number; snapshot: PopulationSnapshot };
      let published = false;
      try {
        const now = new Date();
        const record = { populationId: input.id, k: input.k, step: input.step, sha256: staged.sha256, sizeBytes: staged.size, layout, pushedAt: now, ...this.window(population, now) };
        stored = await this.repository.push(record, async () => {
          await this.blobs.publish(staged);
          published = true;
        });
      } catch (e) {
        // Bytes published by a push whose record then failed go at once (unless another row records them).
        if (published) await this.blobs.removeUnrecorded(staged.sha256);
        throw e;
      } finally {
        await this.blobs.discard(staged).catch(() => undefined);
      }
      const { snapshot, version } = stored;
      const self = snapshot.members.findIndex((m) => m.k === input.k);
      const rule = pullRule(population.variant, { alpha: population.alpha, every: population.every, seed: population.seed, step: input.step, count: snapshot.members.length, self });
      const file = await this.compute(input.id, snapshot, self, rule);
      return { file, snapshot: snapshot.members.map(({ k, version: v, step }) => ({ k, version: v, step })), version, applied: rule.variant };
    } finally {
      await this.scratch.remove(input.file.path).catch(() => undefined);
    }
  }

  /** The mean of the active members' latest weights (409 POPULATION_EMPTY when none is active). */
  async average(id: string): Promise<PopulationResult> {
    const population = await this.get(id);
    const snapshot = await this.repository.snapshot(id, this.window(population, new Date()));
    if (snapshot.members.length === 0) {
      await this.repository.release(id, snapshot.readId, new Date(), (sha) => this.blobs.delete(sha));
      throw new ServiceError('POPULATION_EMPTY', `population ${id} has no active member: none pushed in the last ${population.staleAfterSeconds} s`);
    }
    const file = await this.compute(id, snapshot, null, { variant: 'papa-all' });
    return { file, snapshot: snapshot.members.map(({ k, version, step }) => ({ k, version, step })), applied: 'papa-all' };
  }

  /** Streams a result once; its scratch file is removed when the stream closes. */
  openResult(result: PopulationResult): Readable {
    const stream = createReadStream(result.file.path);
    stream.once('close', () => void this.scratch.remove(result.file.path).catch(() => undefined));
    return stream;
  }

  private window(population: PopulationRecord, now: Date): { activeSince: Date; readExpiresAt: Date } {
    return { activeSince: new Date(now.getTime() - population.staleAfterSeconds * 1000), readExpiresAt: new Date(now.getTime() + READ_HOLD_MS) };
  }

  /**
   * Computes the result from the snapshot's bytes into a scratch file, then releases the snapshot
   * (whatever happens) and removes the versions no snapshot holds any more. The client reads the
   * scratch file afterwards, so a slow client never holds member versions.
   */
  private async compute(id: string, snapshot: PopulationSnapshot, self: number | null, rule: PullRule): Promise<SpooledFile> {
    const sources: RandomAccessSource[] = [];
    const path = join(this.scratch.dir, `population-${Date.now()}-${randomBytes(8).toString('hex')}.safetensors`);
    try {
      for (const m of snapshot.members) sources.push(await this.blobs.openRandomAccess(m.sha256, `member ${m.k} (version ${m.version}) of population ${id}`));
      const plan = await planPopulationPull({ members: sources.map((source, j) => ({ label: `member ${snapshot.members[j].k}`, source })), self, rule });
      // A scratch file read once: no fsync (unlike a published file).
      const written = await writeSafetensors(createWriteStream(path, { flags: 'wx' }), plan.tensors, plan.metadata);
      return { path, size: written.bytesWritten };
    } catch (e) {
      await this.scratch.remove(path).catch(() => undefined);
      throw e;
    } finally {
      await Promise.all(sources.map((s) => s.close().catch(() => undefined)));
      await this.repository
        .release(id, snapshot.readId, new Date(), (sha) => this.blobs.delete(sha))
        .catch((e: unknown) => this.logger.warn({ msg: 'could not release a population snapshot: it expires, and the next push removes what it held', id, error: (e as Error).message }));
    }
  }

  private toView(population: PopulationRecord, members: PopulationMemberRecord[], now: Date): PopulationView {
    const activeSince = now.getTime() - population.staleAfterSeconds * 1000;
    const warnings: string[] = [];
    const view = members.map((m) => {
      const active = m.pushedAt.getTime() >= activeSince;
      if (!active) warnings.push(`member ${m.k} has not pushed for ${Math.floor((now.getTime() - m.pushedAt.getTime()) / 1000)} s and is excluded from the mean`);
      return { ...m, active };
    });
    return { population, members: view, warnings };
  }
}

/** Copies a scratch file into a staged writer's stream without ending it. */
async function copyInto(path: string, sink: Writable): Promise<void> {
  for await (const chunk of createReadStream(path)) {
    if (!sink.write(chunk)) await once(sink, 'drain');
  }
}
