import { Inject, Injectable, Logger } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { GhnBuilderName, GhnGraphJson } from '../../core/graph/ghn';
import type { GraphJson } from '../../core/graph/graph-json';
import { MAX_PROTOBUF_BYTES } from '../../core/formats/onnx/onnx-codec';
import type { AppConfig } from '../../infra/config/app-config';
import { APP_CONFIG } from '../../infra/config/config.module';
import { describeReferences, referenceDetails, ReferenceRegistry } from '../../infra/references/reference-registry';
import { ScratchSpace, type SpooledFile } from '../../infra/scratch/scratch-space';
import type { Cursor } from '../../http/pagination';
import { ServiceError } from '../../core/service-error';
import { findNulCharacter, nulCharacterMessage } from '../../core/storable-text';
import { draftFromGhnGraphJson, draftFromGraphJson, draftFromUpload, draftFromZoo, requireExactlyOneSource } from './architecture-drafts';
import type { Architecture, ArchitectureFilter, ArchitectureGraphs, NewArchitecture } from './architecture.types';
import { ArchitectureViewsService } from './architecture-views.service';
import { ArchitecturesRepository } from './architectures.repository';
import { ZooCatalog, type ZooModel } from './zoo-catalog';

/** The JSON body of POST /v1/architectures: exactly one of zoo, graph or ghnGraph. */
export interface CreateArchitectureInput {
  zoo?: string;
  numClasses?: number;
  imageSize?: number;
  inChannels?: number;
  name?: string;
  graph?: object;
  ghnGraph?: object;
}

/** An uploaded file (ONNX, canonical graph JSON or GHN graph JSON), spooled by `spoolUpload`, and its form fields. */
export interface ArchitectureUpload {
  file: SpooledFile;
  filename: string;
  fields: Record<string, string>;
}

export interface CreatedArchitecture {
  architecture: Architecture;
  /** False when an identical architecture already existed (it is returned instead). */
  created: boolean;
}

const UPLOAD_FIELDS = new Set(['name']);

@Injectable()
export class ArchitecturesService {
  private readonly logger = new Logger(ArchitecturesService.name);

  constructor(
    private readonly repository: ArchitecturesRepository,
    private readonly views: ArchitectureViewsService,
    private readonly zooCatalog: ZooCatalog,
    private readonly scratch: ScratchSpace,
    private readonly references: ReferenceRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(input: CreateArchitectureInput): Promise<CreatedArchitecture> {
    requireExactlyOneSource(input);
    let draft: NewArchitecture;
    if (input.zoo !== undefined) draft = draftFromZoo(input.zoo, { numClasses: input.numClasses, imageSize: input.imageSize, inChannels: input.inChannels }, input.name);
    else if (input.graph !== undefined) draft = draftFromGraphJson(input.graph, input.name);
    else draft = draftFromGhnGraphJson(input.ghnGraph, input.name);
    return this.store(draft);
  }

  /** Spools an uploaded graph file to the scratch space as it arrives (at most 2 GiB, protobuf's limit). */
  spoolUpload(stream: Readable): Promise<SpooledFile> {
    return this.scratch.spool(stream, Math.min(this.config.limits.maxUploadBytes, MAX_PROTOBUF_BYTES));
  }

  discardUpload(file: SpooledFile): Promise<void> {
    return this.scratch.remove(file.path);
  }

  /**
   * An uploaded file (ONNX, canonical graph JSON or GHN graph JSON; optional field `name`), read
   * once and removed: only the graph is kept, never the weights an ONNX file may embed.
   */
  async createFromUpload(upload: ArchitectureUpload): Promise<CreatedArchitecture> {
    const { file, fields } = upload;
    let bytes: Buffer;
    try {
      for (const key of Object.keys(fields)) {
        if (!UPLOAD_FIELDS.has(key)) throw new ServiceError('INVALID_FIELD', `${key}: unknown field (allowed: name, file)`, { field: key });
      }
      if (file.size === 0) throw new ServiceError('FILE_EMPTY', 'the uploaded file is empty');
      bytes = await readFile(file.path);
    } finally {
      await this.scratch.remove(file.path).catch(() => undefined);
    }
    const name = fields.name?.trim();
    if (name !== undefined && (name === '' || name.length > 200)) {
      throw new ServiceError('INVALID_FIELD', 'name: must be 1 to 200 characters', { field: 'name' });
    }
    return this.store(draftFromUpload(bytes, name, upload.filename));
  }

  async get(id: string): Promise<Architecture> {
    const architecture = await this.repository.find(id);
    if (!architecture) throw new ServiceError('ARCHITECTURE_NOT_FOUND', `architecture ${id} does not exist`);
    return architecture;
  }

  list(filter: ArchitectureFilter, limit: number, cursor?: Cursor): Promise<Architecture[]> {
    return this.repository.list(filter, limit, cursor);
  }

  async exists(id: string): Promise<boolean> {
    return this.repository.exists(id);
  }

  /** Deletes an architecture nothing refers to (409 ARCHITECTURE_IN_USE: checkpoints, deployments, ...). */
  async delete(id: string): Promise<void> {
    await this.get(id);
    const refs = await this.references.find('architecture', id);
    if (refs.length > 0) throw new ServiceError('ARCHITECTURE_IN_USE', `architecture ${id} is referenced by ${describeReferences(refs)}; delete them first`, referenceDetails(refs));
    await this.repository.delete(id);
    this.logger.log({ msg: 'architecture deleted', id });
  }

  async graph(id: string): Promise<GraphJson> {
    const { architecture, graphs } = await this.withGraphs(id);
    return this.requireCanonical(architecture, graphs);
  }

  /** Default builder: ghn3, or the builder of a GHN-graph-only architecture. */
  async ghnGraph(id: string, builder?: GhnBuilderName): Promise<GhnGraphJson> {
    const { architecture, graphs } = await this.withGraphs(id);
    if (graphs.ghnGraph) {
      const stored = graphs.ghnGraph.builder;
      if ((builder ?? stored) === stored) return graphs.ghnGraph;
      throw new ServiceError(
        'ARCHITECTURE_NOT_EXECUTABLE',
        `architecture ${id} is known only by its ${stored} GHN graph; a ${builder} graph needs the canonical graph`,
        { builder: stored },
      );
    }
    return this.views.ghnGraph(architecture.contentHash, this.requireCanonical(architecture, graphs), builder ?? 'ghn3');
  }

  async svg(id: string): Promise<string> {
    const { architecture, graphs } = await this.withGraphs(id);
    const graph = this.requireCanonical(architecture, graphs);
    const started = performance.now();
    const svg = await this.views.svg(architecture.contentHash, graph);
    this.logger.debug({ msg: 'architecture svg', id, ms: Math.round(performance.now() - started), bytes: svg.length });
    return svg;
  }

  zoo(): Promise<ZooModel[]> {
    return this.zooCatalog.list();
  }

  private async store(draft: NewArchitecture): Promise<CreatedArchitecture> {
    // Names read from a graph (an ONNX node's, a tensor's) are stored as text: a NUL cannot be.
    const nul = findNulCharacter(draft);
    if (nul !== null) throw new ServiceError('VALIDATION_FAILED', nulCharacterMessage(`the architecture's ${nul}`), { field: nul });
    const result = await this.repository.createOrFind(draft);
    if (result.created) {
      const a = result.architecture;
      this.logger.log({ msg: 'architecture stored', id: a.id, source: a.source, name: a.name, contentHash: a.contentHash, nodes: a.summary.nodeCount });
    }
    return result;
  }

  private async withGraphs(id: string): Promise<{ architecture: Architecture; graphs: ArchitectureGraphs }> {
    const found = await this.repository.findWithGraphs(id);
    if (!found) throw new ServiceError('ARCHITECTURE_NOT_FOUND', `architecture ${id} does not exist`);
    return found;
  }

  private requireCanonical(architecture: Architecture, graphs: ArchitectureGraphs): GraphJson {
    if (!graphs.graph) {
      throw new ServiceError(
        'ARCHITECTURE_NOT_EXECUTABLE',
        `architecture ${architecture.id} was created from a GHN graph only: it has no executable graph (GHN graph: GET /v1/architectures/${architecture.id}/ghn-graph)`,
        { source: architecture.source },
      );
    }
    return graphs.graph;
  }
}
