import { ConfigError, loadConfig } from '../../infra/config/app-config';
import { UsageError } from '../cli-io';

export interface ServeOptions {
  port?: string;
  dataDir?: string;
}

/**
 * Starts the HTTP server with configuration from the environment; flags override PORT and
 * WEIGHTSMITH_DATA_DIR. Nest is loaded only here, so the other commands start fast.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const env: Record<string, string | undefined> = { ...process.env };
  if (options.port !== undefined) env.PORT = options.port;
  if (options.dataDir !== undefined) env.WEIGHTSMITH_DATA_DIR = options.dataDir;
  let config;
  try {
    config = loadConfig(env, process.cwd());
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`invalid configuration: ${e.problems.join('; ')}`);
    throw e;
  }
  const { startServer } = await import('../../server');
  await startServer(config);
}
