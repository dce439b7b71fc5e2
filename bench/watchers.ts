// Child process of bench/live-events.ts: N watchers of one run, over /ws or raw Redis XREAD, so
// their parsing does not share an event loop with the server being measured. Talks over IPC:
// parent sends the setup, child answers 'ready'; parent sends 'expect' with the emitted count,
// child answers 'result' once every watcher has that many (or nothing arrived for IDLE_MS).
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { nowMs, percentile } from './stats.ts';

export type WatchSetup =
  | { mode: 'ws'; n: number; url: string; token: string; runId: string }
  | { mode: 'redis'; n: number; redisUrl: string; key: string };
export type WatchResult = { delivered: number; minPerWatcher: number; outOfOrder: number; p50: number; p99: number; max: number; /** CPU this process used reading, from 'ready' on */ cpuMs: number };

const IDLE_MS = 10_000;

type Watcher = { count: number; lastSeq: number; close: () => void };

const latencies: number[] = [];
let outOfOrder = 0;
let lastProgress = Date.now();

function record(w: Watcher, seq: number, sentAt: number): void {
  if (Number.isFinite(sentAt)) latencies.push(nowMs() - sentAt);
  if (seq !== w.lastSeq + 1) outOfOrder++;
  w.lastSeq = seq;
  w.count++;
  lastProgress = Date.now();
}

async function wsWatcher(s: Extract<WatchSetup, { mode: 'ws' }>): Promise<Watcher> {
  const ws = new WebSocket(s.url, ['opssight.v1', `bearer.${s.token}`]);
  const w: Watcher = { count: 0, lastSeq: 0, close: () => ws.terminate() };
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { op: string; event?: { seq: number; message: string; data?: { t?: number } } };
      if (m.op === 'subscribed') resolve();
      // An emitter's time travels in data.t, or (a process's output line) as ` t=<epoch ms>` at the line's end.
      else if (m.op === 'event') record(w, m.event!.seq, m.event!.data?.t ?? Number(/ t=([\d.]+)$/.exec(m.event!.message)?.[1] ?? Number.NaN));
      else if (m.op === 'error') reject(new Error(JSON.stringify(m)));
    });
    ws.once('open', () => ws.send(JSON.stringify({ op: 'subscribe', runId: s.runId, after: 0 })));
    ws.once('error', reject);
  });
  return w;
}

async function redisWatcher(s: Extract<WatchSetup, { mode: 'redis' }>): Promise<Watcher> {
  const redis = new Redis(s.redisUrl, { maxRetriesPerRequest: null });
  let stopped = false;
  const w: Watcher = { count: 0, lastSeq: 0, close: () => ((stopped = true), redis.disconnect()) };
  await redis.ping();
  void (async () => {
    let id = '0-0';
    while (!stopped) {
      const res = (await redis.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', s.key, id).catch(() => null)) as [string, [string, string[]][]][] | null;
      for (const [, entries] of res ?? []) {
        for (const [entryId, fields] of entries) {
          id = entryId;
          const e = JSON.parse(fields[1]!) as { seq: number; data: { t: number } };
          record(w, e.seq, e.data.t);
        }
      }
    }
  })();
  return w;
}

process.once('message', async (setup: WatchSetup) => {
  const watchers: Watcher[] = [];
  for (let i = 0; i < setup.n; i++) watchers.push(await (setup.mode === 'ws' ? wsWatcher(setup) : redisWatcher(setup)));
  const cpuAtReady = process.cpuUsage();
  process.send!({ type: 'ready' });
  process.once('message', (msg: { type: 'expect'; total: number }) => {
    const check = setInterval(() => {
      const done = watchers.every((w) => w.count >= msg.total);
      if (!done && Date.now() - lastProgress < IDLE_MS) return;
      clearInterval(check);
      for (const w of watchers) w.close();
      const sorted = Float64Array.from(latencies).sort();
      const result: WatchResult = {
        delivered: watchers.reduce((n, w) => n + w.count, 0),
        minPerWatcher: Math.min(...watchers.map((w) => w.count)),
        outOfOrder,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
        cpuMs: ((u) => (u.user + u.system) / 1000)(process.cpuUsage(cpuAtReady)),
      };
      process.send!({ type: 'result', result }, () => process.exit(0));
    }, 20);
  });
});
