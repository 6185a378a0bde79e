import { createHash } from 'node:crypto';
import type { ArchitectureGraph, GraphNode, ValueInfo } from './ir';

/**
 * sha256 (hex) of everything that defines the architecture: opset, modelClass (it changes how the
 * GHN graph is built), inputs and outputs (dtype, shape), initializers (name, dtype, shape,
 * isParameter, in order) and nodes in order (op type, attributes, wiring).
 *
 * Left out, because they do not change the computation: the display `name`, node names, `valueInfo`
 * (derived shapes), `aliasOf` (how an exporter stored equal tensors). Internal value names are
 * replaced by positional ones (graph inputs `in0`, ...; node outputs `n<i>_o<j>`, counting non-Constant
 * nodes), `Constant` outputs by their content (the Constant nodes themselves are dropped, so where an
 * exporter places or duplicates them does not matter), symbolic dims by `s0`, `s1`, ... in order of
 * appearance; so a consistent renaming keeps the hash. Initializer names are kept: state_dict keys.
 */
export function graphContentHash(g: ArchitectureGraph): string {
  return sha256(canonicalJson(canonicalGraph(g)));
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The structure `graphContentHash` hashes (exported for debugging a hash difference). */
export function canonicalGraph(g: ArchitectureGraph): unknown {
  const rename = new Map<string, string>();
  g.inputs.forEach((v, i) => rename.set(v.name, `in${i}`));
  // Constants are named by their content and left out of the node list: exporters place and
  // duplicate them freely.
  const isConstant = (node: GraphNode): boolean => node.opType === 'Constant' && node.inputs.length === 0 && node.outputs.length === 1;
  const nodes = g.nodes.filter((node) => !isConstant(node));
  for (const node of g.nodes) {
    // A digest rather than the content itself: a large constant may be read by many nodes.
    if (isConstant(node)) rename.set(node.outputs[0], `const:${sha256(canonicalJson(node.attributes))}`);
  }
  nodes.forEach((node, i) => node.outputs.forEach((o, j) => o !== '' && rename.set(o, `n${i}_o${j}`)));
  for (const t of g.initializers) rename.set(t.name, t.name);
  // A name nothing defines (an invalid graph) stays recognisable instead of colliding.
  const value = (name: string): string => (name === '' ? '' : (rename.get(name) ?? `?${name}`));
  const symbols = new Map<string, string>();
  const dims = (shape: ValueInfo['shape']): (number | string)[] =>
    shape.map((d) => {
      if (typeof d === 'number') return d;
      if (!symbols.has(d)) symbols.set(d, `s${symbols.size}`);
      return symbols.get(d) as string;
    });
  const io = (v: ValueInfo) => ({ name: value(v.name), dtype: v.dtype, shape: dims(v.shape) });
  return {
    modelClass: g.modelClass ?? null,
    opset: g.opset,
    inputs: g.inputs.map(io),
    outputs: g.outputs.map(io),
    initializers: g.initializers.map((t) => [t.name, t.dtype, t.shape, t.isParameter]),
    nodes: nodes.map((node) => ({
      op: node.opType,
      attributes: node.attributes,
      inputs: node.inputs.map(value),
      outputs: node.outputs.map(value),
    })),
  };
}

/** JSON with sorted object keys and non-finite numbers spelled out (JSON.stringify would write null). */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
}

function write(value: unknown, out: string[]): void {
  if (typeof value === 'number') {
    out.push(Number.isFinite(value) ? JSON.stringify(value) : `"${String(value)}"`);
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((v, i) => {
      if (i > 0) out.push(',');
      write(v, out);
    });
    out.push(']');
  } else if (value !== null && typeof value === 'object') {
    out.push('{');
    Object.keys(value)
      .sort()
      .forEach((k, i) => {
        if (i > 0) out.push(',');
        out.push(JSON.stringify(k), ':');
        write((value as Record<string, unknown>)[k], out);
      });
    out.push('}');
  } else if (value === undefined) {
    out.push('null');
  } else {
    out.push(JSON.stringify(value));
  }
}
