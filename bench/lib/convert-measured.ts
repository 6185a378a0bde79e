import { monitorEventLoopDelay } from 'node:perf_hooks';
import { convertCheckpoint } from '../../src/cli/commands/convert';

/**
 * The measured child of bench/convert-pt.ts: converts argv[2] to argv[3] with the converter the CLI
 * and the server use, and prints its summary with the longest event-loop delay seen while it ran
 * (sampled every 10 ms; module loading is over before sampling starts).
 */
async function main(): Promise<void> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const summary = await convertCheckpoint(process.argv[2], process.argv[3]);
  delay.disable();
  process.stdout.write(JSON.stringify({ ...summary, eventLoopMaxDelayMs: Math.round(delay.max / 1e4) / 100 }));
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
