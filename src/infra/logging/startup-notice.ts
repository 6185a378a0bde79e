import type { AddressInfo } from 'node:net';

/** Nest's start-up chatter (one line per module and per route): kept at debug so that start-up output is short. */
export const NEST_BOOT_CONTEXTS: ReadonlySet<string> = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * What the server is bound to, and a URL a person on the same machine can open: a wildcard address
 * (all interfaces) is not a URL one can browse to, so the loopback address of its family stands in.
 */
export function describeListenAddress(address: AddressInfo): { bound: string; url: string } {
  const v6 = address.family === 'IPv6' || (address.family as unknown) === 6;
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const hostPart = (host: string) => (host.includes(':') ? `[${host}]` : host);
  const bound = `${hostPart(address.address)}:${address.port}${wildcard ? ' (all interfaces)' : ''}`;
  const browseHost = wildcard ? (v6 ? '::1' : '127.0.0.1') : address.address;
  return { bound, url: `http://${hostPart(browseHost)}:${address.port}` };
}

/** Lines framed in a box, so that a one-time secret stands out from the log lines around it. */
export function framedNotice(lines: string[]): string {
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '+' + '-'.repeat(width + 2) + '+';
  return [rule, ...lines.map((l) => `| ${l.padEnd(width)} |`), rule].join('\n');
}

/** The one-time notice of a newly created admin API key. */
export function adminKeyNotice(key: string): string {
  return framedNotice([
    'Weightsmith created an admin API key. It is shown only once:',
    '',
    `  ${key}`,
    '',
    `Use it as: Authorization: Bearer ${key}`,
  ]);
}
