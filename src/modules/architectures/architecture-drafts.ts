import { createHash } from 'node:crypto';
import { CoreError, isCoreError } from '../../core/errors';
import { isParameterOp, parseGhnGraphJson, toGhnGraphJson, type GhnGraph } from '../../core/graph/ghn';
import { canonicalJson, graphContentHash } from '../../core/graph/graph-hash';
import { parseGraphJson, toGraphJson } from '../../core/graph/graph-json';
import { summarizeGraph } from '../../core/graph/graph-summary';
import { validateGraph } from '../../core/graph/graph-validate';
import type { ArchitectureGraph } from '../../core/graph/ir';
import { importOnnxGraph } from '../../core/graph/onnx-import';
import { buildZooModel, zooFamily, type ZooOptions } from '../../core/graph/zoo';
import { ServiceError } from '../../core/service-error';
import { MAX_TENSOR_ELEMENTS } from '../../core/tensor/tensor-size';
import type { ArchitectureSource, ArchitectureSummary, NewArchitecture } from './architecture.types';

const utf8 = new TextDecoder('utf-8'); // drops a leading byte-order mark

/*
 * Turning each kind of source into a NewArchitecture: validated graph, summary and content hash.
 * Pure functions over core; every failure is a CoreError or ServiceError, before anything is stored.
 */

export function draftFromZoo(zoo: string, options: ZooOptions, name?: string): NewArchitecture {
  const graph = buildZooModel(zoo, options);
  return draftFromGraph(graph, 'zoo', name ?? zoo, zooFamily(zoo));
}

/** `bytes` of an uploaded file: a graph JSON document (canonical or GHN) or an ONNX model. */
export function draftFromUpload(bytes: Uint8Array, name: string | undefined, filename: string): NewArchitecture {
  const displayName = name ?? (filename.replace(/\.[^.]*$/, '') || undefined);
  if (looksLikeJson(bytes)) {
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(bytes));
    } catch (e) {
      throw new CoreError('GRAPH_INVALID', `the uploaded file is not valid JSON: ${(e as Error).message}`);
    }
    return isGhnGraphJson(json) ? draftFromGhnGraphJson(json, displayName) : draftFromGraphJson(json, displayName);
  }
  const graph = importOnnxGraph(bytes, displayName ? { name: displayName } : {});
  validateGraph(graph);
  return draftFromGraph(graph, 'onnx', graph.name, null);
}

export function draftFromGraphJson(json: unknown, name?: string): NewArchitecture {
  const graph = parseGraphJson(json);
  return draftFromGraph(graph, 'graph-json', name ?? graph.name, null);
}

/** A GHN graph alone: enough to predict parameters, not to run the model (executable: false). */
export function draftFromGhnGraphJson(json: unknown, name?: string): NewArchitecture {
  let ghn: GhnGraph;
  try {
    ghn = parseGhnGraphJson(json);
  } catch (e) {
    // The core reports a malformed GHN graph as INVALID_ARGUMENT; here it is an invalid graph document.
    if (isCoreError(e) && e.code === 'INVALID_ARGUMENT') throw new CoreError('GRAPH_INVALID', e.message, e.details);
    throw e;
  }
  const ghnGraph = toGhnGraphJson(ghn);
  const opHistogram: Record<string, number> = {};
  for (const op of ghn.nodes.map((n) => n.op).sort()) opHistogram[op] = (opHistogram[op] ?? 0) + 1;
  return {
    name: name ?? ghn.arch,
    family: null,
    source: 'ghn-graph',
    executable: false,
    modelClass: null,
    contentHash: ghnGraphContentHash(ghn),
    graph: null,
    ghnGraph,
    summary: {
      parameterCount: null,
      bufferCount: null,
      nodeCount: ghn.nodes.length,
      macs: null,
      flops: null,
      opHistogram,
      inputs: [{ name: 'input', dtype: 'F32', shape: ['batch', ...ghn.expectedInputSz] }],
      outputs: [],
    },
  };
}

function draftFromGraph(graph: ArchitectureGraph, source: ArchitectureSource, name: string, family: string | null): NewArchitecture {
  const named = { ...graph, name };
  return {
    name,
    family,
    source,
    executable: true,
    modelClass: graph.modelClass ?? null,
    contentHash: graphContentHash(named),
    graph: toGraphJson(named),
    ghnGraph: null,
    summary: summaryOf(named),
  };
}

function summaryOf(graph: ArchitectureGraph): ArchitectureSummary {
  const s = summarizeGraph(graph);
  // Declared shapes are bounded by validateGraph; an inferred one over the bound could never run either.
  if (s.largestValue && s.largestValue.elements > MAX_TENSOR_ELEMENTS) {
    const { name, elements } = s.largestValue;
    throw new CoreError('GRAPH_INVALID', `the value "${name}" has ${elements} elements at batch size 1, more than ${MAX_TENSOR_ELEMENTS}, the limit of one tensor`, {
      value: name,
      limit: MAX_TENSOR_ELEMENTS,
    });
  }
  // Declared shapes keep symbolic dims (`batch`); inferred ones (at batch 1) fill undeclared outputs.
  const outputs = graph.outputs.map((v, i) => (v.shape.length === 0 && s.outputs[i] ? s.outputs[i] : v));
  return {
    parameterCount: s.parameterCount,
    bufferCount: s.bufferCount,
    nodeCount: s.nodeCount,
    macs: s.macs,
    flops: s.flops,
    opHistogram: s.opHistogram,
    inputs: graph.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] })),
    outputs: outputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] })),
  };
}

/**
 * Identity of a GHN graph for deduplication: its canonical JSON without the display name (`arch`)
 * and without the names of parameter-free nodes, which are not part of graph identity (ghn-graph-equal.ts).
 */
export function ghnGraphContentHash(ghn: GhnGraph): string {
  const { arch: _arch, ...json } = toGhnGraphJson({
    ...ghn,
    nodes: ghn.nodes.map((n) => (isParameterOp(n.op) ? n : { ...n, name: '' })),
  });
  return createHash('sha256').update('weightsmith.ghn-graph\n').update(canonicalJson(json)).digest('hex');
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0xef || b === 0xbb || b === 0xbf) continue;
    return b === 0x7b; // `{`: an ONNX protobuf never starts with field 15 as a group.
  }
  return false;
}

/** The fixtures' GHN layout has `builder`, `nodes` and `edges`; the canonical graph has `format`. */
function isGhnGraphJson(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const o = json as Record<string, unknown>;
  return o.format === undefined && 'builder' in o && 'edges' in o;
}

export function requireExactlyOneSource(body: {
  zoo?: unknown;
  graph?: unknown;
  ghnGraph?: unknown;
  numClasses?: unknown;
  imageSize?: unknown;
  inChannels?: unknown;
}): void {
  const given = (['zoo', 'graph', 'ghnGraph'] as const).filter((k) => body[k] !== undefined);
  if (given.length !== 1) {
    throw new ServiceError('VALIDATION_FAILED', `send exactly one of zoo, graph or ghnGraph (got ${given.length ? given.join(', ') : 'none'}), or upload a file as multipart/form-data`, {
      given,
    });
  }
  if (body.zoo === undefined && (body.numClasses !== undefined || body.imageSize !== undefined || body.inChannels !== undefined)) {
    throw new ServiceError('VALIDATION_FAILED', 'numClasses, imageSize and inChannels apply only to zoo models');
  }
}
