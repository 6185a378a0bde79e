import { readFile, unlink } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CoreError } from '../../core/errors';
import {
  buildGhnGraph,
  DEFAULT_VE_CUTOFF,
  parseGhnGraphJson,
  toGhnGraphJson,
  type GhnBuilderName,
  type GhnGraph,
} from '../../core/graph/ghn';
import { parseGraphJson, toGraphJson } from '../../core/graph/graph-json';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { importOnnxGraph } from '../../core/graph/onnx-import';
import { buildZooModel } from '../../core/graph/zoo';
import { writeFileAtomic } from '../cli-io';

export interface GraphCommandOptions {
  /** Where to write the GHN graph JSON (the fixtures' graphs/ layout). */
  ghnGraph: string;
  /** Where to write the canonical graph JSON too, when set. */
  graph?: string;
  builder: GhnBuilderName;
  veCutoff?: number;
}

export interface GraphCommandSummary {
  source: string;
  arch: string;
  builder: GhnBuilderName;
  nodes: number;
  edges: number;
  ghnGraph: string;
  graph?: string;
}

/** An architecture source: the canonical graph, or (for GHN-graph JSON) the GHN graph itself. */
type LoadedSource = { kind: 'architecture'; graph: ArchitectureGraph } | { kind: 'ghn-graph'; ghn: GhnGraph };

const ZOO_PREFIX = 'zoo:';

/**
 * `zoo:NAME` (torchvision builder names), an .onnx file (graph-only exports work: only names,
 * dims and attributes are read), or a JSON file: the canonical graph JSON (GRAPH_FORMAT.md), or a
 * GHN graph in the fixtures' layout, which is validated and passed through (it cannot yield a
 * canonical graph).
 */
export async function loadArchitectureSource(source: string, resolvePath: (p: string) => string): Promise<LoadedSource> {
  if (source.startsWith(ZOO_PREFIX)) {
    return { kind: 'architecture', graph: buildZooModel(source.slice(ZOO_PREFIX.length)) };
  }
  const path = resolvePath(source);
  const bytes = await readFile(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.json' || (ext !== '.onnx' && bytes[0] === 0x7b /* { */)) {
    return loadJsonSource(bytes, path);
  }
  return { kind: 'architecture', graph: importOnnxGraph(bytes, { name: basename(path, extname(path)) }) };
}

function loadJsonSource(bytes: Uint8Array, path: string): LoadedSource {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new CoreError('GRAPH_INVALID', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (isGhnGraphJson(json)) return { kind: 'ghn-graph', ghn: parseGhnGraphJson(json) };
  // Anything else must be the canonical graph JSON; its parser names what is wrong.
  return { kind: 'architecture', graph: parseGraphJson(json) };
}

function isGhnGraphJson(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'edges' in json && 'nodes' in json && ('edges_format' in json || 've_cutoff' in json);
}

/** Builds the GHN graph (and optionally the canonical graph JSON) and writes both atomically. */
export async function runGraphCommand(source: string, options: GraphCommandOptions, resolvePath: (p: string) => string): Promise<GraphCommandSummary> {
  const loaded = await loadArchitectureSource(source, resolvePath);
  let ghn: GhnGraph;
  if (loaded.kind === 'ghn-graph') {
    if (options.graph !== undefined) {
      throw new CoreError('INVALID_ARGUMENT', 'a GHN graph JSON source has no canonical graph to write with --graph');
    }
    ghn = loaded.ghn;
  } else {
    ghn = buildGhnGraph(loaded.graph, { builder: options.builder, veCutoff: options.veCutoff ?? DEFAULT_VE_CUTOFF });
  }
  const outputs: [string, string][] = [[resolvePath(options.ghnGraph), JSON.stringify(toGhnGraphJson(ghn))]];
  if (options.graph !== undefined && loaded.kind === 'architecture') {
    outputs.push([resolvePath(options.graph), JSON.stringify(toGraphJson(loaded.graph))]);
  }
  await writeAll(outputs);
  return {
    source,
    arch: ghn.arch,
    builder: ghn.builder,
    nodes: ghn.nodes.length,
    edges: ghn.edges.length,
    ghnGraph: outputs[0][0],
    ...(outputs[1] ? { graph: outputs[1][0] } : {}),
  };
}

/** Writes every file or (as far as possible) none: files written before a failure are removed. */
async function writeAll(files: [string, string][]): Promise<void> {
  const done: string[] = [];
  try {
    for (const [path, text] of files) {
      await writeFileAtomic(path, text);
      done.push(path);
    }
  } catch (error) {
    await Promise.all(done.map((p) => unlink(p).catch(() => undefined)));
    throw error;
  }
}
