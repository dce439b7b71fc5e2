import { readdirSync, readFileSync } from 'node:fs';
/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes on one host. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** `--markdown` (npm run bench -- --markdown): tables as GitHub markdown, for the README. */
export const MARKDOWN = process.argv.includes('--markdown');

/** A fixed-width text table, or a markdown one with `--markdown`: first row is the header. */
export function table(rows: string[][]): string {
  if (MARKDOWN) {
    const cell = (c: string) => c.replace(/\|/g, '\\|').replace(/</g, '&lt;');
    const line = (r: string[]) => `| ${r.map(cell).join(' | ')} |`;
    // A blank line first: a table cannot interrupt the paragraph printed before it.
    return ['', line(rows[0]!), `|${rows[0]!.map((_, c) => (c === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** `text` (a README) with the block between `<!-- marker -->` and `<!-- /marker -->` replaced by `body`; the markers must be there. */
export function replaceMarkedBlock(text: string, marker: string, body: string): string {
  const open = `<!-- ${marker} -->`;
  const close = `<!-- /${marker} -->`;
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a < 0 || b < a) throw new Error(`README.md has no ${open} … ${close} block`);
  return `${text.slice(0, a + open.length)}\n${body}\n${text.slice(b)}`;
}

/** CPU time (user + system, ms) a process on this host has used so far, from /proc: what it costs, whoever else runs. */
export function processCpuMs(pid: number, opts: { reapedChildren?: boolean } = {}): number {
  // Fields 14 and 15 of /proc/<pid>/stat (16 and 17: its children that ended and were waited for),
  // after the parenthesised command name (which may hold spaces).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const ticks = fields[11]! + fields[12]! + (opts.reapedChildren ? fields[13]! + fields[14]! : 0);
  return (ticks * 1000) / CLOCK_TICKS;
}
/**
 * CPU time (ms) of every process on this host whose command is `comm` (e.g. PostgreSQL's postmaster
 * and backends), with what their ended children used (a backend that exited is counted by the
 * postmaster that reaped it).
 */
export function commandCpuMs(comm: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) total += processCpuMs(Number(pid), { reapedChildren: true });
    } catch {
      // ended meanwhile
    }
  }
  return total;
}
/** CPU (ms) used so far by this process, the Temporal dev server and PostgreSQL: the three that share the host in a bench. */
export type HostCpu = { bench: number; temporal: number; postgres: number };
export const hostCpu = (temporalPid: number): HostCpu => ({ bench: processCpuMs(process.pid), temporal: processCpuMs(temporalPid), postgres: commandCpuMs('postgres') });
/** Milliseconds of each per request between two readings, formatted for a table row. */
export const cpuPerRequest = (a: HostCpu, b: HostCpu, n: number): string[] => [b.bench - a.bench, b.temporal - a.temporal, b.postgres - a.postgres].map((ms) => fmt(ms / n));
/** USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK) is not reachable from Node). */
const CLOCK_TICKS = 100;

/**
 * Median seconds of the platform's path and of its baseline, after one warm-up call of each. Rounds
 * alternate which goes first, so the machine's drift and warm caches fall on both sides alike.
 */
export async function alternatingMedians(rounds: number, paths: { baseline: () => Promise<void>; ours: () => Promise<void> }): Promise<{ baseline: number; ours: number }> {
  const seconds = async (f: () => Promise<void>) => {
    const t = performance.now();
    await f();
    return (performance.now() - t) / 1000;
  };
  await paths.ours();
  await paths.baseline();
  const samples = { baseline: [] as number[], ours: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['baseline', 'ours'] as const) : (['ours', 'baseline'] as const);
    for (const side of order) samples[side].push(await seconds(paths[side]));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { baseline: median(samples.baseline), ours: median(samples.ours) };
}
