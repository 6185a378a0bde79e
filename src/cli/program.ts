import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { OFFICIAL_GHNS, type OfficialGhnName } from '../core/ghn-hub/official-ghns';
import { errorLine, printJson, resolveArg, UsageError } from './cli-io';
import type { SoupCommandOptions } from './commands/soup';
import type { TrainCommandOptions } from './commands/train';

/** Exit statuses: 1 when a command fails, 2 for a usage or configuration error. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a finite number');
  return n;
}

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('expected an integer ≥ 0');
  return Number(value);
}

function weightList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '' || !Number.isFinite(Number(p)))) throw new InvalidArgumentError('expected comma-separated finite numbers');
  return parts.map(Number);
}

function channelCount(value: string): 1 | 3 {
  if (value !== '1' && value !== '3') throw new InvalidArgumentError('expected 1 or 3');
  return Number(value) as 1 | 3;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/**
 * The `weightsmith` command tree. Commands print JSON on stdout and nothing else. Each command's
 * code is loaded when it runs, so `--help` and light commands do not pay for the others (Nest is
 * loaded only by `serve`).
 */
export function buildProgram(cwd = process.cwd()): Command {
  const path = (p: string): string => resolveArg(p, cwd);
  const program = new Command('weightsmith')
    .description('Neural-network weights: inspect and convert checkpoints, build GHN graphs, serve the HTTP API.')
    // Set before adding commands so that subcommands inherit them.
    .configureOutput({ outputError: (text, write) => write(`weightsmith: ${text.replace(/^error: /, '').trim()}\n`) })
    .exitOverride()
    .showSuggestionAfterError(false);

  program
    .command('serve')
    .description('Start the HTTP server (configured by PORT, DATABASE_URL and WEIGHTSMITH_* variables).')
    .option('--port <n>', 'HTTP port (overrides PORT)')
    .option('--data-dir <dir>', 'data directory (overrides WEIGHTSMITH_DATA_DIR)')
    .action(async (opts: { port?: string; dataDir?: string }) => (await import('./commands/serve')).serve(opts));

  program
    .command('inspect')
    .description('Print a checkpoint\'s tensors (safetensors, .pt/.pth, joblib, .onnx) as JSON, without reading their data.')
    .argument('<file>', 'checkpoint file')
    .action(async (file: string) => {
      const { inspectCheckpoint } = await import('./commands/inspect');
      printJson(await inspectCheckpoint(path(file)));
    });

  program
    .command('convert')
    .description('Convert a checkpoint (torch zip/legacy, joblib, ONNX, safetensors) to safetensors, tensor by tensor.')
    .argument('<in>', 'input checkpoint')
    .argument('<out>', 'output .safetensors file (written atomically)')
    .action(async (input: string, output: string) => {
      const { convertCheckpoint } = await import('./commands/convert');
      printJson(await convertCheckpoint(path(input), path(output)));
    });

  program
    .command('graph')
    .description('Build the GHN graph of an architecture: zoo:NAME, an .onnx file, a canonical graph JSON or a GHN graph JSON.')
    .argument('<source>', 'zoo:NAME (torchvision builder name), model.onnx, or graph.json')
    .requiredOption('--ghn-graph <out.json>', 'where to write the GHN graph JSON')
    .option('--graph <out.json>', 'where to also write the canonical graph JSON')
    .addOption(new Option('--builder <name>', 'GHN graph builder').choices(['ghn3', 'ppuda']).default('ghn3'))
    .option('--ve-cutoff <n>', 'longest shortest path kept as a virtual edge', positiveInteger)
    .action(async (source: string, opts: { ghnGraph: string; graph?: string; builder: 'ghn3' | 'ppuda'; veCutoff?: number }) => {
      const { runGraphCommand } = await import('./commands/graph');
      printJson(await runGraphCommand(source, opts, path));
    });

  program
    .command('infer')
    .description('Run an architecture with a checkpoint on the inputs of a safetensors file; write the outputs (by the graph\'s output names) to a safetensors file.')
    .requiredOption('--arch <source>', 'zoo:NAME, model.onnx, or a canonical graph JSON')
    .requiredOption('--weights <file>', 'checkpoint (safetensors, torch, ONNX initializers), bound by tensor name')
    .requiredOption('--input <file>', 'safetensors file holding a tensor per graph input (e.g. `input`)')
    .requiredOption('--out <file>', 'output .safetensors file (written atomically)')
    .addOption(new Option('--engine <engine>', 'inference engine (default onnxruntime; tfjs when --backend is given)').choices(['tfjs', 'onnxruntime']))
    .addOption(new Option('--backend <name>', 'TF.js backend of the tfjs engine (default wasm)').choices(['wasm', 'cpu', 'webgpu']))
    .action(async (opts: { arch: string; weights: string; input: string; out: string; engine?: 'tfjs' | 'onnxruntime'; backend?: 'wasm' | 'cpu' | 'webgpu' }) => {
      const { runInfer } = await import('./commands/infer');
      printJson(await runInfer(opts, path));
    });

  program
    .command('predict')
    .description('Predict an architecture\'s parameters with a GHN; write them as safetensors with PyTorch state_dict names, filled as the server fills them (unpredicted parameters torch-default, BatchNorm statistics mean 0, var 1).')
    .requiredOption('--ghn <file>', 'GHN checkpoint (safetensors, .pt, joblib)')
    .option('--config <file>', "GHN config JSON ({impl, graph_builder, ctor_config}, the fixtures' layout); default: the file's own, else inferred from its tensors")
    .requiredOption('--arch <source>', 'zoo:NAME, model.onnx, a canonical graph JSON or a GHN graph JSON')
    .requiredOption('--out <file>', 'output .safetensors file (written atomically)')
    .addOption(new Option('--builder <name>', 'GHN graph builder (default: the GHN config\'s)').choices(['ghn3', 'ppuda']))
    .addOption(
      new Option('--seed <n>', 'seed of the random values (ViT class-token row, unpredicted parameters)')
        .default(0)
        .argParser((v: string) => {
          if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError('expected an integer ≥ 0');
          return Number(v);
        }),
    )
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(['wasm', 'cpu', 'webgpu', 'tensorflow', 'auto']).default('wasm'))
    .action(async (opts: { ghn: string; config?: string; arch: string; out: string; builder?: 'ghn3' | 'ppuda'; seed: number; backend: 'wasm' | 'cpu' | 'webgpu' | 'tensorflow' | 'auto' }) => {
      const { runPredictCommand } = await import('./commands/predict');
      printJson(await runPredictCommand(opts, path));
    });

  program
    .command('train')
    .description('Train an architecture from a checkpoint on a dataset file (inputs used as stored: float32 as is, uint8 / 255); write the state_dict (PyTorch names, num_batches_tracked as I64) as safetensors.')
    .requiredOption('--arch <source>', 'zoo:NAME, model.onnx, or a canonical graph JSON')
    .requiredOption('--weights <file>', 'initial checkpoint (safetensors, torch, ONNX initializers), bound by tensor name')
    .requiredOption('--data <file>', 'dataset file (.safetensors: inputs N×C×H×W F32 or U8, labels)')
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw', 'adam-cm']).makeOptionMandatory())
    .option('--lr <x>', 'learning rate (default 0.001), constant', finiteNumber)
    .option('--momentum <x>', 'sgd momentum', finiteNumber)
    .option('--nesterov', 'sgd: Nesterov momentum')
    .option('--weight-decay <x>', 'weight decay (L2 for sgd and adam, decoupled for adamw and adam-cm)', finiteNumber)
    .option('--top-c <n>', 'adam-cm: critical momenta kept per parameter', positiveInteger)
    .option('--decay <x>', 'adam-cm: priority decay per step', finiteNumber)
    .option('--label-smoothing <x>', 'cross-entropy label smoothing in [0, 1]', finiteNumber)
    .requiredOption('--batch-size <n>', 'examples per step (the last batch of an epoch may be smaller)', positiveInteger)
    .option('--steps <n>', 'number of steps (give --steps or --epochs)', positiveInteger)
    .option('--epochs <n>', 'number of epochs', positiveInteger)
    .option('--no-shuffle', 'batches in file order (default: shuffled every epoch from --seed); no augmentation either way')
    .option('--seed <n>', 'seed of the shuffling (default 0)', nonNegativeInteger)
    .requiredOption('--out <file>', 'output .safetensors file (written atomically)')
    .action(async (opts: TrainCommandOptions) => {
      const { runTrainCommand } = await import('./commands/train');
      printJson(await runTrainCommand(opts, path));
    });

  program
    .command('soup')
    .description('Average or merge safetensors checkpoints tensor by tensor (float64 accumulation, each tensor rounded once to its dtype); print the recipe and every file\'s sha256 as JSON.')
    .argument('[in...]', 'ingredient .safetensors files (the models; the base goes in --base)')
    .addOption(
      new Option('--method <method>', 'soup or merge method (default: the recipe\'s merge_method)').choices([
        'uniform',
        'weighted',
        'task-arithmetic',
        'ties',
        'dare-linear',
        'dare-ties',
        'breadcrumbs',
        'slerp',
        'model-stock',
      ]),
    )
    .option('--weights <a,b,...>', 'one weight per model (weighted: ≥ 0, summing to 1; merges: default 1 each)', weightList)
    .option('--base <file>', 'base model of task arithmetic, TIES, DARE, breadcrumbs, Model Stock; x0 of SLERP (default: its first input)')
    .option('--density <x>', 'fraction of each task vector kept, in (0, 1] (TIES, DARE, breadcrumbs; default 1)', finiteNumber)
    .option('--t <x>', 'SLERP interpolation factor in [0, 1], from the base to the other model', finiteNumber)
    .option('--seed <n>', 'seed of the DARE drop masks (default 0)', nonNegativeInteger)
    .option('--recipe <file.yaml>', 'mergekit-style YAML: merge_method, base_model, models (with weight, density), parameters; flags override it')
    .requiredOption('--out <file>', 'output .safetensors file (written atomically; nothing is written when the soup is refused)')
    .action(async (inputs: string[], opts: SoupCommandOptions) => {
      const { runSoupCommand } = await import('./commands/soup');
      printJson(await runSoupCommand(inputs, opts, path));
    });

  const dataset = program.command('dataset').description('Datasets: pack an image folder into a dataset file, or store a builtin dataset on a server.');
  dataset
    .command('pack')
    .description('Pack an image folder (one subfolder per class, PNG or JPEG) into a dataset file: uint8 inputs N×C×H×W, int64 labels, class names.')
    .argument('<dir>', 'image folder: DIR/CLASS/IMAGE.png|jpg (optionally inside one top folder)')
    .requiredOption('--out <file>', 'output .safetensors file (written atomically)')
    .option('--size <HxW>', 'resize every image to H×W (bilinear; default: the first image\'s size)')
    .addOption(new Option('--channels <n>', 'convert every image to 1 (gray) or 3 (RGB) channels (default: the first image\'s)').argParser(channelCount))
    .action(async (dir: string, opts: { out: string; size?: string; channels?: 1 | 3 }) => {
      const { runDatasetPack } = await import('./commands/dataset-pack');
      printJson(await runDatasetPack(dir, opts, path));
    });

  program
    .command('ghn')
    .description('Graph hypernetworks: fetch the official checkpoints.')
    .command('fetch')
    .description('Download an official GHN checkpoint from the Hugging Face Hub, refusing it unless it matches the sha256 the hub publishes; write it to a file or upload it to a server.')
    .addArgument(new Argument('<name>', 'official GHN').choices(OFFICIAL_GHNS))
    .option('--out <file>', 'where to write it (default ./<name>.pt, or no file when --server is given)')
    .option('--server <url>', 'upload it to this Weightsmith server (POST /v1/ghns, named <name>)')
    .option('--api-key <key>', 'API key for --server')
    .option('--hub <url>', 'hub base URL (default WEIGHTSMITH_GHN_HUB_URL, else https://huggingface.co)')
    .action(async (name: OfficialGhnName, opts: { out?: string; server?: string; apiKey?: string; hub?: string }) => {
      const { ghnFetch } = await import('./commands/ghn-fetch');
      printJson(await ghnFetch(name, opts, path));
    });

  dataset
    .command('import')
    .description('Store a builtin dataset (fashion-mnist: 70,000 images; mnist: 10,000) on a server, with its seeded, stratified splits; print the stored dataset.')
    .addArgument(new Argument('<name>', 'builtin dataset').choices(['fashion-mnist', 'mnist']))
    .requiredOption('--server <url>', 'the Weightsmith server (POST /v1/datasets)')
    .option('--api-key <key>', 'API key for --server')
    .addOption(
      new Option('--seed <n>', 'seed of the train/validation/test split (default 0)').argParser((v: string) => {
        if (!/^\d+$/.test(v) || Number(v) > 2 ** 31 - 1) throw new InvalidArgumentError('expected an integer in [0, 2^31 - 1]');
        return Number(v);
      }),
    )
    .option('--name <name>', 'display name (default: the builtin name)')
    .action(async (name: string, opts: { server: string; apiKey?: string; seed?: number; name?: string }) => {
      const { importBuiltinDataset } = await import('./commands/dataset-import');
      printJson(await importBuiltinDataset(name, opts));
    });

  return program;
}

/** Runs the CLI; resolves with the exit status (the server keeps the process alive for `serve`). */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    // Commander already printed its own message (or the help, with exit code 0).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    process.stderr.write(`${errorLine(error)}\n`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}
