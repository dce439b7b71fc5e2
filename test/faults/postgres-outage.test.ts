import { expect, it } from '@jest/globals';
import { once } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import WebSocket from 'ws';
import type { WsServerMessage } from '../../contracts/events.ts';
import { until } from '../fixtures/until.ts';
import { bearer } from '../fixtures/ws.ts';
import { startWebhookReceiver } from '../peers/webhook-receiver.ts';
import { alerting } from './alerting.ts';
import { countedResources, useFaultStack } from './stack.ts';
import { recordFault, rounds } from './report.ts';

// PostgreSQL is both the record and (by default) where Terraform state lives. Stopped mid-apply, it
// must cost neither a log line nor a double creation; stopped while terraform saves the state, the
// state terraform could not save must be pushed, not applied again; stopped as an alert's page goes
// out, it must cost neither a second page nor a timeline entry written twice.
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
    await stack().untilRuns([runId], 'both creations', async () => (names.every((x) => stack().effects.counts.has(`${tag}/${x}`)) ? true : undefined), 120_000, 20);
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

it('PostgreSQL stopped as a page is delivered and through the wait after it: each page sent once, each entry and attempt on record once', async () => {
  const secret = `secret-${crypto.randomUUID()}`;
  const hook = await startWebhookReceiver(secret);
  try {
    const { create, fire } = await alerting(stack());
    const webhook = await create('/api/v1/integrations', { team: stack().team.slug, type: 'webhook', name: 'pager', settings: { url: hook.url }, secrets: { signingSecret: secret } });
    const notify = { type: 'notify_channel', integration: webhook };
    // The wait ends while the database is still down: its page has to come once it is back.
    const policy = await create('/api/v1/escalation-policies', { team: stack().team.slug, name: 'outage', steps: [notify, { type: 'wait', seconds: 2 }, notify] });
    // The database goes down after the first page reached the receiver and before the sender heard back:
    // the page is out and nothing says so yet. A retry that found no record of it would page again.
    let outage: Promise<void> | undefined;
    hook.control.beforeAnswer = () => {
      if (outage) return;
      stack().db.stop('immediate');
      outage = new Promise((r) => setTimeout(r, OUTAGE_MS)).then(() => stack().db.start());
    };
    const alertId = await fire(policy, { dedupKey: 'pg-outage', summary: 'database outage' });
    await until('the outage to begin', async () => (outage ? true : undefined), 60_000);
    await outage;
    // Recorded as sent after the delivery, so once both are on record no retry can page again; the
    // chain's last entry says every entry before it was written.
    const sent = () => stack().query<{ key: string; n: string }>(`select key, count(*) as n from notification_attempts where alert_id = $1 and status = 'sent' group by key order by key`, [alertId]);
    const entries = () => stack().query<{ type: string; n: string }>(`select type, count(*) as n from alert_events where alert_id = $1 group by type order by type`, [alertId]);
    await until('both pages and the whole chain on record', async () => ((await sent()).length === 2 && (await entries()).some((e) => e.type === 'chain.exhausted') ? true : undefined), 120_000, 200);
    const ok = hook.deliveries.length === 2;
    recordFault({ fault: 'PostgreSQL stopped as an alert page is delivered', passed: ok ? 1 : 0, rounds: 1, detail: `${hook.deliveries.length} pages for 2 notifications; each recorded sent once; timeline entries once (outage ${OUTAGE_MS / 1000}s)` });
    expect(hook.deliveries.map((d) => d.body.notification)).toEqual(['0.0.0.0', '0.0.2.0']);
    expect(await sent()).toEqual([{ key: '0.0.0.0', n: '1' }, { key: '0.0.2.0', n: '1' }]);
    expect(await entries()).toEqual([{ type: 'chain.exhausted', n: '1' }, { type: 'escalation.started', n: '1' }, { type: 'notify', n: '2' }, { type: 'opened', n: '1' }, { type: 'wait', n: '1' }]);
  } finally {
    await hook.close();
  }
}, 300_000);
