import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CoreError } from '../../core/errors';
import { openCheckpoint } from '../../core/formats/open-checkpoint';
import { writeSafetensors } from '../../core/formats/safetensors';
import { loadGhnFromTensorSet, type Ghn } from '../../core/ghn';
import { buildGhnGraph, type GhnBuilderName, type GhnGraph } from '../../core/graph/ghn';
import { initializationMetadata, predictInitialization } from '../../core/init';
import { withFileSource } from '../../core/io/random-access';
import type { TensorBackendChoice } from '../../infra/config/app-config';
import { selectBackend } from '../../infra/tensor-runtime/select-backend';
import { loadArchitectureSource } from './graph';

export interface PredictCommandOptions {
  /** GHN checkpoint: safetensors, a torch .pt (zip, legacy or joblib) or ONNX. */
  ghn: string;
  /** GHN config JSON in the fixtures' `ghn/<cfg>.json` layout; else the file's own, else inferred. */
  config?: string;
  /** zoo:NAME, an .onnx file, a canonical graph JSON or a GHN graph JSON. */
  arch: string;
  out: string;
  /** Graph builder; default: the GHN config's. */
  builder?: GhnBuilderName;
  seed: number;
  backend: TensorBackendChoice;
}

export interface PredictSummary {
  out: string;
  arch: string;
  builder: GhnBuilderName;
  backend: string;
  seed: number;
  tensors: number;
  predicted: number;
  notPredicted: string[];
  buffers: number;
  predictedOnly: boolean;
  ghnSha256: string;
  bytes: number;
  sha256: string;
  seconds: number;
}

/**
 * Predicts an architecture's parameters with a GHN and writes them as safetensors with PyTorch
 * state_dict names, filled exactly as the server's `POST /v1/initializations` (method ghn) fills
 * them: parameters the GHN does not predict get torch-default values, BatchNorm statistics mean 0,
 * var 1, count 0. The same GHN file, architecture, seed and tf backend give the same bytes as the
 * server's download. The output is written atomically: a failure leaves no file.
 */
export async function runPredictCommand(options: PredictCommandOptions, resolvePath: (p: string) => string): Promise<PredictSummary> {
  const started = performance.now();
  const { backend } = await selectBackend(options.backend);
  const ghnPath = resolvePath(options.ghn);
  const config = options.config === undefined ? undefined : await readConfig(resolvePath(options.config));
  const source = await loadArchitectureSource(options.arch, resolvePath);
  const ghnSha256 = await sha256File(ghnPath);
  const ghn: Ghn = await withFileSource(ghnPath, async (file) => loadGhnFromTensorSet(await openCheckpoint(file, { filename: basename(ghnPath) }), config));
  try {
    const builder = options.builder ?? ghn.config.graphBuilder;
    let ghnGraph: GhnGraph;
    if (source.kind === 'ghn-graph') {
      if (source.ghn.builder !== builder) {
        throw new CoreError('INVALID_ARGUMENT', `the GHN graph was built by the ${source.ghn.builder} builder; --builder ${builder} needs the architecture itself (zoo:NAME, .onnx or graph JSON)`);
      }
      ghnGraph = source.ghn;
    } else {
      ghnGraph = buildGhnGraph(source.graph, { builder });
    }
    const init = await predictInitialization(ghn, ghnGraph, source.kind === 'architecture' ? source.graph : null, { seed: options.seed, batchNorm: 'fresh' });
    const metadata = initializationMetadata({
      method: 'ghn',
      seed: options.seed,
      batchNorm: 'fresh',
      ghnSha256,
      notPredicted: init.notPredicted,
      predictedOnly: init.predictedOnly,
    });
    const out = resolvePath(options.out);
    const written = await writeSafetensors(out, init.tensors, metadata);
    return {
      out,
      arch: ghnGraph.arch,
      builder,
      backend,
      seed: options.seed,
      tensors: init.tensors.length,
      predicted: init.predicted.length,
      notPredicted: init.notPredicted,
      buffers: init.buffers.length,
      predictedOnly: init.predictedOnly,
      ghnSha256,
      bytes: written.bytesWritten,
      sha256: written.sha256,
      seconds: Math.round(performance.now() - started) / 1000,
    };
  } finally {
    ghn.dispose();
  }
}

async function readConfig(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CoreError('INVALID_ARGUMENT', `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
