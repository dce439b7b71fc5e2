import { expect, it } from '@jest/globals';
import { once } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import WebSocket from 'ws';
import type { WsServerMessage } from '../../contracts/events.ts';
import { until } from '../fixtures/until.ts';
import { bearer } from '../fixtures/ws.ts';
import { countedResources, useFaultStack } from './stack.ts';
import { recordFault, rounds } from './report.ts';

// PostgreSQL is both the record and (by default) where Terraform state lives. Stopped mid-apply, it
// must cost neither a log line nor a double creation; stopped while terraform saves the state, the
// state terraform could not save must be pushed, not applied again.
const stack = useFaultStack({ workers: 1 });
const OUTAGE_MS = Number(process.env.FAULT_OUTAGE_MS ?? (process.env.FAULTS === 'full' ? 10_000 : 5_000));
const LINES = 400;

async function outage(during?: () => Promise<void>): Promise<void> {
  stack().db.stop('immediate');
  const over = new Promise((r) => setTimeout(r, OUTAGE_MS));
  await during?.();
  await over;
  await stack().db.start();
}

/** A socket opened before the outage; `answer` sends a subscribe and resolves with the reply about that run. */
async function dashboardSocket() {
  const socket = new WebSocket(stack().wsUrl, bearer(stack().token));
  await once(socket, 'open');
  const answer = (runId: string) =>
    new Promise<WsServerMessage>((resolve) => {
      const onMessage = (data: unknown) => {
        const m = JSON.parse(String(data)) as WsServerMessage;
        if ((m.op === 'error' || m.op === 'subscribed') && 'runId' in m && m.runId === runId) {
          socket.off('message', onMessage);
          resolve(m);
        }
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ op: 'subscribe', runId, after: 0 }));
    });
  return { answer, close: () => socket.terminate() };
}

it('PostgreSQL stopped during apply output: every line stored once, in order; each resource created once', async () => {
  const n = rounds(2, 5);
  const results: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const tag = crypto.randomUUID().slice(0, 8);
    const chatter = `for i in $(seq 1 ${LINES}); do echo line-$i; sleep 0.01; done && `;
    const runId = await stack().startRun({ workspace: `pgout-${tag}`, files: countedResources(stack().effects, tag, ['talker'], 1, chatter), autoApply: true });
    await until('a quarter of the output to be stored', async () => ((await stack().logLines(runId)).filter((l) => /line-\d+$/.test(l.message)).length >= LINES / 4 ? true : undefined), 120_000, 50);
    // A dashboard that subscribes meanwhile is told to try again (it would otherwise wait for events forever), and can.
    const socket = await dashboardSocket();
    let refused: WsServerMessage | undefined;
    await outage(async () => void (refused = await socket.answer(runId)));
    const resubscribed = await socket.answer(runId);
    socket.close();
    expect(refused).toEqual({ op: 'error', runId, message: 'internal error', retry: true });
    expect(resubscribed).toEqual({ op: 'subscribed', runId, after: 0 });
    const final = await stack().ended(runId);
    const lines = (await stack().logLines(runId)).map((l) => stripVTControlCharacters(l.message)).filter((m) => /line-\d+$/.test(m)).map((m) => Number(/line-(\d+)$/.exec(m)![1]));
    const inOrder = lines.length === LINES && lines.every((v, k) => v === k + 1);
    const ok = final.status === 'succeeded' && inOrder && stack().effects.counts.get(`${tag}/talker`) === 1;
    if (!ok) console.error({ final, stored: lines.length, firstGap: lines.findIndex((v, k) => v !== k + 1), effects: stack().effects.counts.get(`${tag}/talker`) });
    results.push(ok);
  }
  recordFault({ fault: 'PostgreSQL stopped during apply output', passed: results.filter(Boolean).length, rounds: n, detail: `${LINES} lines all stored once in order, resource created once, run succeeded (outage ${OUTAGE_MS / 1000}s)` });
  expect(results.every(Boolean)).toBe(true);
}, 900_000);

it('PostgreSQL stopped while terraform saves the state: the unsaved state is pushed, nothing is created twice', async () => {
  const n = rounds(2, 5);
  const results: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const tag = crypto.randomUUID().slice(0, 8);
    const names = ['a', 'b'];
    const runId = await stack().startRun({ workspace: `pgsave-${tag}`, files: countedResources(stack().effects, tag, names, 1), autoApply: true });
    // Both creations reported: terraform finishes them a second later and then saves the state.
    await until('both creations', async () => (names.every((x) => stack().effects.counts.has(`${tag}/${x}`)) ? true : undefined), 120_000, 20);
    await outage();
    const final = await stack().ended(runId);
    const created = names.map((x) => stack().effects.counts.get(`${tag}/${x}`));
    const lines = (await stack().logLines(runId)).map((l) => stripVTControlCharacters(l.message));
    // The outage must have hit the save: terraform's unsaved state was pushed, then a fresh plan found nothing to do.
    const pushed = lines.some((l) => l.startsWith('$ terraform state push'));
    const ok = final.status === 'succeeded' && created.every((c) => c === 1) && pushed;
    if (!ok) console.error({ final, created, pushed, tail: lines.slice(-40) });
    results.push(ok);
  }
  recordFault({ fault: 'PostgreSQL stopped while terraform saves state', passed: results.filter(Boolean).length, rounds: n, detail: `errored state pushed (never re-applied), each resource created once, run succeeded (outage ${OUTAGE_MS / 1000}s)` });
  expect(results.every(Boolean)).toBe(true);
}, 900_000);
