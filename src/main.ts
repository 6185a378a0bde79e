import { ConfigError, loadConfig } from './infra/config/app-config';
import { startServer } from './server';

/** `npm start`: validate configuration once, then serve. Exit code 2 on bad configuration. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`weightsmith: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  await startServer(config);
}

main().catch((e: unknown) => {
  process.stderr.write(`weightsmith: failed to start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
