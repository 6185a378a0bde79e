import { Injectable } from '@nestjs/common';
import { buildGhnGraph, toGhnGraphJson, type GhnBuilderName, type GhnGraphJson } from '../../core/graph/ghn';
import { parseGraphJson, type GraphJson } from '../../core/graph/graph-json';
import { runInWorker, WorkerTimeoutError, workerScript } from '../../infra/workers/run-in-worker';
import { ServiceError } from '../../core/service-error';
import { BoundedCache } from './bounded-cache';

/** Graphviz on a few hundred nodes takes ~0.1 s, but densely connected graphs (DenseNet-201) take minutes. */
export const SVG_RENDER_TIMEOUT_MS = 20_000;
const SVG_WORKER_HEAP_MB = 1024;
/** Layouts at once: each holds a core. */
const MAX_CONCURRENT_RENDERS = 2;
const SVG_CACHE_BYTES = 64 * 1024 * 1024;
const GHN_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Documents derived from a stored architecture graph: its SVG picture (laid out in a worker
 * thread) and its GHN graphs. Both depend only on the graph, so they are cached by content hash.
 */
@Injectable()
export class ArchitectureViewsService {
  private readonly svgs = new BoundedCache<string>(SVG_CACHE_BYTES, (svg) => svg.length * 2);
  // Rough bytes of a GHN graph: edges dominate large graphs.
  private readonly ghnGraphs = new BoundedCache<GhnGraphJson>(GHN_CACHE_BYTES, (g) => g.edges.length * 120 + g.nodes.length * 600);
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  svg(contentHash: string, graph: GraphJson): Promise<string> {
    return this.svgs.get(contentHash, () => this.limited(() => this.renderSvg(graph)));
  }

  /** The GHN graph by one builder, in the fixtures' JSON layout (shared: callers must not modify it). */
  ghnGraph(contentHash: string, graph: GraphJson, builder: GhnBuilderName): Promise<GhnGraphJson> {
    return this.ghnGraphs.get(`${contentHash}:${builder}`, async () => toGhnGraphJson(buildGhnGraph(parseGraphJson(graph), { builder })));
  }

  private async renderSvg(graph: GraphJson): Promise<string> {
    try {
      return await runInWorker<GraphJson, string>(workerScript(__dirname, 'graph-svg.worker'), graph, {
        timeoutMs: SVG_RENDER_TIMEOUT_MS,
        maxHeapMb: SVG_WORKER_HEAP_MB,
      });
    } catch (e) {
      if (e instanceof WorkerTimeoutError) {
        throw new ServiceError('GRAPH_RENDER_TIMEOUT', `the graph layout did not finish within ${SVG_RENDER_TIMEOUT_MS / 1000} s; fetch /graph and lay it out offline`, {
          timeoutMs: SVG_RENDER_TIMEOUT_MS,
        });
      }
      throw e;
    }
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    while (this.running >= MAX_CONCURRENT_RENDERS) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
