import { readFileSync } from 'node:fs';

/** Mappings this large are WebAssembly memories (a wasm32 memory reserves 8-10 GiB with its guard regions). */
const WASM_RESERVATION_BYTES = 4 * 2 ** 30;

export interface MemorySnapshot {
  rssMB: number;
  /** Where the resident bytes live, from /proc/PID/smaps. */
  smapsMB: { wasmMemories: number; wasmMemoryCount: number; mallocHeap: number; otherAnonymous: number; fileBacked: number };
  /** The server's own view, from the prom-client process metrics on /metrics. */
  v8MB: { heapUsed: number; heapTotal: number; external: number } | null;
}

const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;

/**
 * Sums resident bytes of a process's mappings by kind (Linux /proc/PID/smaps). A WebAssembly
 * memory is one reservation split into an accessible part and a guard part: contiguous anonymous
 * mappings of 4 GiB and more in all count as wasm memory.
 */
function smapsBreakdown(pid: number): MemorySnapshot['smapsMB'] {
  const maps: { start: number; end: number; path: string; rss: number }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) maps.push({ start: parseInt(header[1], 16), end: parseInt(header[2], 16), path: header[3].trim(), rss: 0 });
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && maps.length) maps[maps.length - 1].rss = Number(rss[1]) * 1024;
  }
  const sums = { wasmMemories: 0, wasmMemoryCount: 0, mallocHeap: 0, otherAnonymous: 0, fileBacked: 0 };
  for (let i = 0; i < maps.length; ) {
    const m = maps[i];
    if (m.path === '[heap]' || m.path.startsWith('/') || m.path.startsWith('[')) {
      if (m.path === '[heap]') sums.mallocHeap += m.rss;
      else if (m.path.startsWith('/')) sums.fileBacked += m.rss;
      else sums.otherAnonymous += m.rss;
      i++;
      continue;
    }
    let j = i;
    let rss = 0;
    while (j < maps.length && maps[j].path === '' && (j === i || maps[j].start === maps[j - 1].end)) rss += maps[j++].rss;
    if (maps[j - 1].end - m.start >= WASM_RESERVATION_BYTES) {
      sums.wasmMemories += rss;
      sums.wasmMemoryCount++;
    } else sums.otherAnonymous += rss;
    i = j;
  }
  return { wasmMemories: mb(sums.wasmMemories), wasmMemoryCount: sums.wasmMemoryCount, mallocHeap: mb(sums.mallocHeap), otherAnonymous: mb(sums.otherAnonymous), fileBacked: mb(sums.fileBacked) };
}

function metric(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** RSS of the server process, where it lives, and V8's figures from the server's /metrics. */
export async function memorySnapshot(pid: number, baseUrl: string): Promise<MemorySnapshot> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
  let v8: MemorySnapshot['v8MB'] = null;
  try {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const used = metric(text, 'weightsmith_nodejs_heap_size_used_bytes');
    const total = metric(text, 'weightsmith_nodejs_heap_size_total_bytes');
    const external = metric(text, 'weightsmith_nodejs_external_memory_bytes');
    if (used !== null && total !== null && external !== null) v8 = { heapUsed: mb(used), heapTotal: mb(total), external: mb(external) };
  } catch {
    /* metrics unavailable: RSS and smaps still tell */
  }
  return { rssMB: mb(rss), smapsMB: smapsBreakdown(pid), v8MB: v8 };
}
