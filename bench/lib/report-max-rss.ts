import { writeFileSync } from 'node:fs';

/**
 * Preloaded (`node -r`) into a measured child: on exit, writes the process's peak resident set
 * (getrusage's ru_maxrss, in bytes) to the file named by WEIGHTSMITH_BENCH_MAX_RSS_FILE.
 */
const target = process.env.WEIGHTSMITH_BENCH_MAX_RSS_FILE;
if (target) process.on('exit', () => writeFileSync(target, String(process.resourceUsage().maxRSS * 1024)));
