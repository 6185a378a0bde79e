import { readSafetensorsHeader, serializeSafetensors } from '../../src/core/formats/safetensors';
import { bufferSource } from '../../src/core/io/random-access';
import request from 'supertest';
import { startServerProcess, type ServerProcess } from './server-process';
import { auth } from './test-app';

/** Values that encode (member, step): w[i] = 1000·k + step + i/8, b[i] = −(1000·k + step) − i/4 (exact in float32). */
export function memberValues(k: number, step: number): { w: number[]; b: number[] } {
  return { w: [0, 1, 2, 3].map((i) => 1000 * k + step + i / 8), b: [0, 1].map((i) => -(1000 * k + step) - i / 4) };
}

export function memberWeights(k: number, step: number, opts: { wName?: string; wShape?: number[] } = {}): Uint8Array {
  const { w, b } = memberValues(k, step);
  return serializeSafetensors([
    { name: opts.wName ?? 'w', dtype: 'F32', shape: opts.wShape ?? [2, 2], data: new Uint8Array(Float32Array.from(w).buffer) },
    { name: 'b', dtype: 'F64', shape: [2], data: new Uint8Array(Float64Array.from(b).buffer) },
    { name: 'n', dtype: 'I64', shape: [1], data: new Uint8Array(BigInt64Array.from([BigInt(k)]).buffer) },
  ]);
}

export interface SnapshotEntry {
  k: number;
  version: number;
  step: number;
}

export interface PushAnswer {
  status: number;
  version: number;
  snapshot: SnapshotEntry[];
  applied: string | null;
  w: number[];
  b: number[];
  n: bigint;
  body: unknown;
}

export function parseSnapshot(header: string | null): SnapshotEntry[] {
  if (!header) return [];
  return header.split(',').map((e) => {
    const [k, version, step] = e.split(':').map(Number);
    return { k, version, step };
  });
}

/** The tensors of a weights answer, or the problem body of an error. */
export async function decodeAnswer(res: Response): Promise<Omit<PushAnswer, 'version'>> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const common = { status: res.status, snapshot: parseSnapshot(res.headers.get('weightsmith-population-snapshot')), applied: res.headers.get('weightsmith-population-pull') };
  if (res.status !== 200) return { ...common, w: [], b: [], n: 0n, body: JSON.parse(Buffer.from(bytes).toString('utf8')) };
  const header = await readSafetensorsHeader(bufferSource(bytes));
  const read = (name: string) => {
    const t = header.tensors.find((x) => x.name === name)!;
    return bytes.slice(t.byteOffset, t.byteOffset + t.byteLength).buffer;
  };
  return { ...common, w: Array.from(new Float32Array(read('w'))), b: Array.from(new Float64Array(read('b'))), n: new BigInt64Array(read('n'))[0], body: null };
}

export async function push(url: string, id: string, k: number | string, step: number | string | null, body: Uint8Array, contentType = 'application/octet-stream'): Promise<PushAnswer> {
  const query = step === null ? '' : `?step=${step}`;
  const res = await fetch(`${url}/v1/populations/${id}/members/${k}${query}`, { method: 'PUT', headers: { ...auth(), 'Content-Type': contentType }, body });
  const answer = await decodeAnswer(res);
  return { ...answer, version: Number(res.headers.get('weightsmith-population-version')) };
}

/** PAPA's pull of member `k` from the snapshot, computed as the server must (float64, members in k order). */
export function expectedPull(k: number, step: number, snapshot: readonly SnapshotEntry[], alpha: number): { w: number[]; b: number[] } {
  const own = memberValues(k, step);
  // A lone member, or α = 1, is not pulled: its bytes come back as sent.
  if (snapshot.length < 2 || alpha === 1) return own;
  const members = snapshot.map((m) => memberValues(m.k, m.step));
  const pull = (key: 'w' | 'b', round: (x: number) => number) =>
    own[key].map((v, i) => {
      let sum = 0;
      for (const m of members) sum += m[key][i];
      const mean = sum / members.length;
      return round(alpha * v + (1 - alpha) * mean);
    });
  return { w: pull('w', Math.fround), b: pull('b', (x) => x) };
}

export interface RoundsResult {
  /** Every member's last version, by k. */
  lastVersion: number[];
  /** Pushes that failed because the server was being killed (each was sent again). */
  retried: number;
  seconds: number;
}

/**
 * `members` members push concurrently for `rounds` rounds (step = round) to a PAPA population
 * with α = `alpha`, each checking its answer: its own new version is in the snapshot, no member
 * went back to an older version than one it had seen answered, and the pulled values are exactly
 * PAPA's from the snapshot the answer reports (the values encode member and step, so a lost or
 * mixed update shows). `restart` (called once, when member 0 reaches `restartAt`) kills and
 * restarts the server while the others push; pushes that fail meanwhile are sent again.
 */
export async function pushRounds(opts: {
  url: () => string;
  id: string;
  members: number;
  rounds: number;
  alpha: number;
  restartAt?: number;
  restart?: () => Promise<void>;
  check: (actual: unknown, expected: unknown, what: string) => void;
}): Promise<RoundsResult> {
  const lastVersion = new Array<number>(opts.members).fill(0);
  let retried = 0;
  let restarting: Promise<void> | null = null;
  const member = async (k: number): Promise<void> => {
    for (let step = 0; step < opts.rounds; ) {
      if (k === 0 && step === opts.restartAt && opts.restart && !restarting) restarting = opts.restart();
      if (restarting) await restarting;
      const knownBefore = [...lastVersion];
      let answer: PushAnswer;
      try {
        answer = await push(opts.url(), opts.id, k, step, memberWeights(k, step));
      } catch {
        retried++;
        continue;
      }
      const what = `member ${k} step ${step}`;
      opts.check(answer.status, 200, `${what}: ${JSON.stringify(answer.body)}`);
      opts.check(answer.snapshot.find((m) => m.k === k), { k, version: answer.version, step }, `${what}: its own version`);
      opts.check(answer.snapshot.filter((m) => m.version < knownBefore[m.k]), [], `${what}: versions older than answered ones`);
      opts.check(answer.version > lastVersion[k], true, `${what}: a new version`);
      lastVersion[k] = answer.version;
      opts.check({ w: answer.w, b: answer.b, n: answer.n }, { ...expectedPull(k, step, answer.snapshot, opts.alpha), n: BigInt(k) }, `${what}: the pulled values`);
      step++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: opts.members }, (_, k) => member(k)));
  return { lastVersion, retried, seconds: (performance.now() - started) / 1000 };
}

/**
 * The coordinator's acceptance run on a real server process in `dataDir`: a PAPA population of
 * `members`, pushed concurrently for `rounds` rounds with a SIGKILL and restart halfway, then the
 * final members, versions, warnings and average checked against what the members were answered.
 * `server` holds the running process (replaced by the restart) so the caller can stop it.
 */
export async function populationAcrossRestart(
  dataDir: string,
  server: { current: ServerProcess | null },
  opts: { members: number; rounds: number; alpha: number },
): Promise<RoundsResult> {
  const { members, rounds, alpha } = opts;
  server.current = await startServerProcess(dataDir);
  const created = await request(server.current.url).post('/v1/populations').set(auth()).send({ size: members, variant: 'papa', alpha }).expect(201);
  const id = created.body.id as string;
  const result = await pushRounds({
    url: () => server.current!.url,
    id,
    members,
    rounds,
    alpha,
    restartAt: rounds / 2,
    restart: async () => {
      await server.current!.kill('SIGKILL');
      server.current = await startServerProcess(dataDir);
    },
    check: (actual, expected, what) => expect({ what, actual }).toEqual({ what, actual: expected }),
  });
  const url = server.current.url;
  const view = (await request(url).get(`/v1/populations/${id}`).set(auth()).expect(200)).body;
  expect(view.members.map((m: { k: number; step: number; version: number }) => [m.k, m.step, m.version])).toEqual(result.lastVersion.map((v, k) => [k, rounds - 1, v]));
  expect(view.version).toBeGreaterThanOrEqual(members * rounds);
  expect(view.version).toBeLessThanOrEqual(members * rounds + result.retried);
  expect(view.warnings).toEqual([]);
  const average = await decodeAnswer(await fetch(`${url}/v1/populations/${id}/average`, { headers: auth() }));
  expect(average.snapshot.map((m) => [m.k, m.version])).toEqual(result.lastVersion.map((v, k) => [k, v]));
  return result;
}
