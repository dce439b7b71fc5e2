import { expect, it } from '@jest/globals';
import { stripVTControlCharacters } from 'node:util';
import WebSocket from 'ws';
import type { RunEvent, WsServerMessage } from '../../contracts/events.ts';
import { bearer } from '../fixtures/ws.ts';
import { until } from '../fixtures/until.ts';
import { countedResources, useFaultStack } from './stack.ts';
import { recordFault, rounds } from './report.ts';

// Redis carries only what can wait: stopped mid-apply, it must cost no stored event, no 500, and
// a dashboard watching the run must end up with exactly the stored events once it is back.
const stack = useFaultStack({ ownRedis: true, workers: 1 });
const OUTAGE_MS = 5_000;
const LINES = 300;

/** A dashboard's socket: subscribes from `after`, and on a close reconnects from the last seq it has. */
function watch(url: string, token: string, runId: string) {
  const events = new Map<number, RunEvent>();
  let socket: WebSocket | undefined;
  let stopped = false;
  const connect = () => {
    if (stopped) return;
    const after = Math.max(0, ...events.keys());
    socket = new WebSocket(url, bearer(token));
    socket.on('open', () => socket!.send(JSON.stringify({ op: 'subscribe', runId, after })));
    socket.on('message', (data) => {
      const m = JSON.parse(String(data)) as WsServerMessage;
      if (m.op === 'event') events.set(m.event.seq, m.event);
    });
    // While Redis is down an upgrade is refused (503): try again, as the dashboard does.
    socket.on('close', () => setTimeout(connect, 300));
    socket.on('error', () => undefined);
  };
  connect();
  return { events, stop: () => ((stopped = true), socket?.terminate()) };
}

it('Redis stopped mid-apply: no 500, every event stored, and a watcher ends with exactly the stored events', async () => {
  const n = rounds(2, 5);
  const results: boolean[] = [];
  const s = stack();
  for (let i = 0; i < n; i++) {
    const tag = crypto.randomUUID().slice(0, 8);
    const chatter = `for i in $(seq 1 ${LINES}); do echo line-$i; sleep 0.02; done && `;
    const runId = await s.startRun({ workspace: `redis-${tag}`, files: countedResources(s.effects, tag, ['talker'], 1, chatter), autoApply: true });
    const watcher = watch(s.wsUrl, s.token, runId);
    await s.untilRuns([runId], 'output to flow', async () => ((await s.logLines(runId)).length > 20 ? true : undefined), 120_000, 50);

    await s.redis!.stop();
    const during: number[] = [];
    const deadline = Date.now() + OUTAGE_MS;
    while (Date.now() < deadline) {
      during.push((await s.call('GET', `/api/v1/runs/${runId}`, s.token)).status, (await s.call('GET', '/api/v1/runs?limit=5', s.token)).status);
      await new Promise((r) => setTimeout(r, 250));
    }
    await s.redis!.start();

    const final = await s.ended(runId);
    const stored = (await s.call('GET', `/api/v1/runs/${runId}/events?limit=5000`, s.token)).body.events as RunEvent[];
    await until('the watcher to have every stored event', async () => (watcher.events.size >= stored.length ? true : undefined), 60_000, 100);
    watcher.stop();
    const lines = stored.map((e) => stripVTControlCharacters(e.message)).filter((m) => /line-\d+$/.test(m));
    // What a person reads: the same events, in the same order, each once.
    const view = (e: RunEvent) => `${e.seq} ${e.type} ${e.message}`;
    const seen = [...watcher.events.values()].sort((a, b) => a.seq - b.seq).map(view);
    const ok =
      final.status === 'succeeded' &&
      during.every((c) => c === 200 || c === 503) &&
      lines.length === LINES &&
      s.effects.counts.get(`${tag}/talker`) === 1 &&
      JSON.stringify(seen) === JSON.stringify(stored.map(view));
    if (!ok) console.error({ final, statuses: [...new Set(during)], lines: lines.length, effects: s.effects.counts.get(`${tag}/talker`), watcher: seen.length, stored: stored.length, firstDiff: seen.find((v, k) => v !== view(stored[k]!)) });
    results.push(ok);
  }
  recordFault({ fault: 'Redis stopped during apply', passed: results.filter(Boolean).length, rounds: n, detail: `API answered 200/503 (never 500) throughout; ${LINES} lines stored; a watching socket ended with exactly the stored events; resource created once (outage ${OUTAGE_MS / 1000}s)` });
  expect(results.every(Boolean)).toBe(true);
}, 600_000);
