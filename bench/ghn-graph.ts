import { readFileSync } from 'node:fs';
import { isCoreError } from '../src/core/errors';
import { buildGhnGraph, type GhnBuilderName } from '../src/core/graph/ghn';
import type { ArchitectureGraph } from '../src/core/graph/ir';
import { importOnnxGraph } from '../src/core/graph/onnx-import';
import { buildZooModel } from '../src/core/graph/zoo';
import { fixturesDir } from '../src/core/testing/fixtures';
import { numberOption, round } from './lib/proc-memory';
import { emitReport } from './lib/report';

/**
 * Time to build the GHN graph of vit_b_16 and resnet50, from the zoo and from the fixtures' ONNX
 * exports, with both builders (ppuda refuses ViTs, as the official code). Each case: median of N
 * runs after warm-up, source construction (zoo build or ONNX import of bytes already read) plus
 * GHN graph build; the bar is 200 ms. Prints one JSON object.
 * Usage: node dist/bench/ghn-graph.js [--runs N] [--warmup N]
 */
const BAR_MS = 200;
const MODELS = ['vit_b_16', 'resnet50'];
const BUILDERS: GhnBuilderName[] = ['ghn3', 'ppuda'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function timeMs<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const value = fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e6];
}

function measure(load: () => ArchitectureGraph, builder: GhnBuilderName, runs: number, warmup: number) {
  const source: number[] = [];
  const ghn: number[] = [];
  let nodes = 0;
  let edges = 0;
  for (let i = 0; i < warmup + runs; i++) {
    const [graph, loadMs] = timeMs(load);
    const [built, buildMs] = timeMs(() => buildGhnGraph(graph, { builder }));
    nodes = built.nodes.length;
    edges = built.edges.length;
    if (i >= warmup) {
      source.push(loadMs);
      ghn.push(buildMs);
    }
  }
  const totals = source.map((s, i) => s + ghn[i]);
  const totalMs = median(totals);
  return { nodes, edges, medianMs: round(totalMs, 1), sourceMedianMs: round(median(source), 1), ghnMedianMs: round(median(ghn), 1), underBar: totalMs < BAR_MS };
}

async function main(): Promise<void> {
  const runs = Math.round(numberOption(process.argv, 'runs', 15));
  const warmup = Math.round(numberOption(process.argv, 'warmup', 3));
  const cases: Record<string, unknown>[] = [];
  for (const model of MODELS) {
    const onnxBytes = readFileSync(fixturesDir('arch', 'onnx', `${model}.onnx`));
    const sources: [string, () => ArchitectureGraph][] = [
      ['zoo', () => buildZooModel(model)],
      ['onnx', () => importOnnxGraph(onnxBytes, { name: model })],
    ];
    for (const [source, load] of sources) {
      for (const builder of BUILDERS) {
        try {
          cases.push({ model, source, builder, ...measure(load, builder, runs, warmup) });
        } catch (error) {
          if (!isCoreError(error) || error.code !== 'GHN_GRAPH_UNSUPPORTED') throw error;
          cases.push({ model, source, builder, unsupported: error.message });
        }
      }
    }
  }
  const measured = cases.filter((c) => !('unsupported' in c));
  await emitReport({
      bench: 'ghn-graph',
      runs,
      warmup,
      barMs: BAR_MS,
      cases,
      allUnderBar: measured.every((c) => c.underBar === true),
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`ghn-graph: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
