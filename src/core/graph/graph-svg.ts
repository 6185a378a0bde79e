import { instance } from '@viz-js/viz';
import { graphToDot, type GraphDotOptions } from './graph-dot';
import type { ArchitectureGraph } from './ir';

export type GraphSvgOptions = GraphDotOptions;

type Viz = Awaited<ReturnType<typeof instance>>;

/** One Graphviz (WebAssembly) instance per process: creating it compiles the wasm module. */
let viz: Promise<Viz> | undefined;

/**
 * An SVG picture of the graph (see `graphToDot` for what is drawn), laid out top to bottom by
 * Graphviz `dot`. Graphs with more than `maxNodes` visible op nodes (default 2000) are refused with
 * INVALID_ARGUMENT.
 */
export async function renderGraphSvg(g: ArchitectureGraph, opts: GraphSvgOptions = {}): Promise<string> {
  const dot = graphToDot(g, opts);
  viz ??= instance();
  return (await viz).renderString(dot, { format: 'svg', engine: 'dot' });
}
