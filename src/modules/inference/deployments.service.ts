import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ServiceError } from '../../core/service-error';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { ReferenceRegistry } from '../../infra/references/reference-registry';
import type { Deployment, NewDeployment } from './deployment.types';
import { DeploymentsRepository, type DeploymentRecord } from './deployments.repository';
import { InferenceMetrics } from './inference-metrics';
import { ModelLoader, type LoadedModel } from './model-loader';

/**
 * The models this replica serves, kept equal to the deployments table: `create` loads a model and
 * records it, `delete` removes the record and unloads it, and every few seconds
 * (WEIGHTSMITH_DEPLOYMENT_SYNC_MS) each replica loads the records other replicas made and unloads
 * the ones they deleted, so that any replica serves any deployment without a restart. At start the
 * records are loaded before the server listens; one that no longer loads (its backend gone, say) is
 * removed with an error in the log. Changes to the set of models run one at a time.
 */
@Injectable()
export class DeploymentsService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeploymentsService.name);
  private readonly models = new Map<string, LoadedModel>();
  private readonly loading = new Set<string>();
  /** Records that failed to load during a sync, by name → createdAt (not retried until they change). */
  private readonly failed = new Map<string, number>();
  private changes: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly loader: ModelLoader,
    private readonly records: DeploymentsRepository,
    private readonly metrics: InferenceMetrics,
    private readonly references: ReferenceRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.references.register('checkpoint', 'deployment', (id, limit) => this.records.usingCheckpoint(id, limit));
    this.references.register('architecture', 'deployment', (id, limit) => this.records.usingArchitecture(id, limit));
  }

  async create(input: NewDeployment): Promise<Deployment> {
    return this.exclusive(() =>
      this.loadAs(input.name, async () => {
        const model = await this.loader.load(input);
        const d = model.deployment;
        // Recorded once it runs: a model that fails to load leaves no record, and a crash before this
        // line leaves nothing to load again.
        const record = await this.records
          .create({ name: input.name, checkpointId: d.checkpointId, architectureId: d.architectureId, engine: input.engine ?? 'auto', backend: input.backend ?? null, batching: d.batching })
          .catch(async (e: unknown) => {
            await this.loader.unload(model, 'the deployment could not be recorded');
            throw e;
          });
        d.createdAt = record.createdAt;
        return model;
      }),
    );
  }

  /** Loads the recorded deployments (before the server listens), then follows the table. */
  async onApplicationBootstrap(): Promise<void> {
    await this.exclusive(() => this.sync(true));
    this.scheduleSync();
  }

  private scheduleSync(): void {
    const every = this.config.inference.deploymentSyncMs;
    if (every <= 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      void this.exclusive(() => this.sync(false))
        .catch((e: unknown) => this.logger.error({ msg: 'deployment sync failed', error: (e as Error).message }))
        .finally(() => this.scheduleSync());
    }, every);
    this.timer.unref();
  }

  /** Loads records this replica does not serve, unloads models whose record is gone or was replaced. */
  private async sync(atStart: boolean): Promise<void> {
    const records = await this.records.list();
    const byName = new Map(records.map((r) => [r.name, r]));
    for (const [name, model] of [...this.models]) {
      const record = byName.get(name);
      if (record && record.createdAt.getTime() === model.deployment.createdAt.getTime()) continue;
      this.models.delete(name);
      await this.loader.unload(model, `model '${name}' was unloaded`);
      this.logger.log({ msg: 'model undeployed by another replica', name });
    }
    for (const record of records) {
      if (this.models.has(record.name) || this.failed.get(record.name) === record.createdAt.getTime()) continue;
      try {
        await this.loadRecord(record);
        this.failed.delete(record.name);
      } catch (e) {
        if (atStart) {
          this.logger.error({ msg: 'a recorded deployment no longer loads: its record is removed', name: record.name, error: (e as Error).message });
          await this.records.delete(record.name);
        } else {
          this.logger.error({ msg: 'a deployment recorded by another replica does not load here', name: record.name, error: (e as Error).message });
          this.failed.set(record.name, record.createdAt.getTime());
        }
      }
    }
  }

  private loadRecord(record: DeploymentRecord): Promise<Deployment> {
    const { name, engine, backend, batching } = record;
    return this.loadAs(name, async () => {
      const model = await this.loader.load({ name, checkpointId: record.checkpointId, architectureId: record.architectureId, engine, ...(backend ? { backend } : {}), ...batching });
      model.deployment.createdAt = record.createdAt;
      return model;
    });
  }

  /** Runs `load` under the name (refused while the name is taken or loading) and serves its model. */
  private async loadAs(name: string, load: () => Promise<LoadedModel>): Promise<Deployment> {
    if (this.models.has(name) || this.loading.has(name)) {
      throw new ServiceError('DEPLOYMENT_NAME_TAKEN', `a deployment named '${name}' already exists${this.loading.has(name) ? ' (loading)' : ''}`);
    }
    this.loading.add(name);
    try {
      const model = await load();
      this.models.set(name, model);
      this.metrics.queueDepth.set({ model: name }, 0);
      const d = model.deployment;
      this.logger.log({ msg: 'model deployed', name, engine: d.engineName, checkpointId: d.checkpointId, architectureId: d.architectureId, loadMs: d.loadMs });
      return d;
    } finally {
      this.loading.delete(name);
    }
  }

  list(): Deployment[] {
    return [...this.models.values()].map((m) => m.deployment).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Deployment {
    return this.model(name).deployment;
  }

  /** The loaded model; 404 for an unknown name or a version other than the one served. */
  model(name: string, version?: string): LoadedModel {
    const model = this.models.get(name);
    if (!model) throw new ServiceError('DEPLOYMENT_NOT_FOUND', `model '${name}' is not deployed`);
    if (version !== undefined && version !== model.deployment.version) {
      throw new ServiceError('DEPLOYMENT_NOT_FOUND', `model '${name}' has no version '${version}' (versions: ${model.deployment.version})`);
    }
    return model;
  }

  queueDepth(name: string): number {
    return this.models.get(name)?.batcher.depth ?? 0;
  }

  /** Unloads: new requests get 404, waiting ones 503; the running batch finishes, then the engine is freed. */
  async delete(name: string): Promise<void> {
    await this.exclusive(async () => {
      const model = this.model(name);
      await this.records.delete(name);
      this.models.delete(name);
      await this.loader.unload(model, `model '${name}' was unloaded`);
    });
    this.logger.log({ msg: 'model undeployed', name });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.changes.catch(() => undefined);
    const all = [...this.models.values()];
    this.models.clear();
    await Promise.all(all.map((m) => this.loader.unload(m, 'the server is shutting down')));
  }

  /** Runs changes to the set of models one at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changes.then(fn, fn);
    this.changes = run.catch(() => undefined);
    return run;
  }
}
