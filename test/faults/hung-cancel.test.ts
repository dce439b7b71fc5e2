import { expect, it } from '@jest/globals';
import { startHangingServer } from '../fixtures/hanging-http.ts';
import { until } from '../fixtures/until.ts';
import { useFaultStack } from './stack.ts';
import { recordFault } from './report.ts';

// A provisioner that ignores SIGINT keeps terraform from stopping on a cancel. The run must say so,
// and a person's force cancel must kill it and leave a run someone can recover as its message says.
const stack = useFaultStack({ workers: 1 });

/**
 * Creates `stuck`, then reads remote state from a server that never answers: a read that depends on
 * the resource happens during the apply, and terraform does not give up on it when interrupted.
 */
const hung = (tag: string, address: string) => ({
  'main.tf': `
resource "terraform_data" "stuck" {
  input = "stuck"
  provisioner "local-exec" {
    command = "${stack().effects.command(`${tag}/stuck`)}"
  }
}

data "terraform_remote_state" "upstream" {
  backend = "http"
  config = {
    address = "${address}?after=\${terraform_data.stuck.id}"
  }
}

resource "terraform_data" "after" {
  input = data.terraform_remote_state.upstream.outputs
}
`,
});

it('a hung terraform is reported after a cancel, force cancel kills it, and the workspace can be used again', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const workspace = `hung-${tag}`;
  const upstream = await startHangingServer();
  const runId = await stack().startRun({ workspace, files: hung(tag, upstream.url), autoApply: true });
  await stack().untilRuns([runId], 'the provisioner to run', async () => (stack().effects.counts.has(`${tag}/stuck`) ? true : undefined), 120_000);
  await upstream.requested;

  expect((await stack().call('POST', `/api/v1/runs/${runId}/cancel`, stack().token, { force: true })).status).toBe(409);
  // Two people press Cancel at the same moment: both are answered, one cancel is on record.
  const cancels = await Promise.all([0, 1].map(() => stack().call('POST', `/api/v1/runs/${runId}/cancel`, stack().token, {})));
  expect(cancels.map((c) => c.status)).toEqual([202, 202]);
  for (const cancel of cancels) expect(cancel.body.cancelRequest).toMatchObject({ force: false, byEmail: expect.any(String) });

  const warning = await until('the run to report the process has not stopped', async () => {
    const rows = await stack().query<{ message: string }>(`select message from run_events where run_id = $1 and data->>'hung' = 'true'`, [runId]);
    return rows[0]?.message;
  }, 60_000);
  expect(warning).toMatch(/has not stopped .* Force cancel kills it/);
  expect((await stack().status(runId)).status).toBe('running');

  const forces = await Promise.all([0, 1].map(() => stack().call('POST', `/api/v1/runs/${runId}/cancel`, stack().token, { force: true })));
  expect(forces.map((f) => f.status)).toEqual([202, 202]);
  const final = await until('the run to end', async () => {
    const s = await stack().status(runId);
    return s.status === 'cancelled' ? s : undefined;
  }, 60_000);
  const requests = await stack().query<{ message: string }>(`select message from run_events where run_id = $1 and data ? 'cancelRequest' order by seq`, [runId]);
  expect(requests.map((r) => r.message.replace(/ by .*/, ''))).toEqual(['cancel requested', 'force cancel requested']);
  const audited = await stack().query<{ action: string }>(`select action from audit_log where resource_id = $1 and action like 'run.%cancel' order by id`, [runId]);
  expect(audited.map((a) => a.action)).toEqual(['run.cancel', 'run.force_cancel']);
  const events = await stack().query<{ message: string }>(`select message from run_events where run_id = $1 and data->>'cancelled' = 'true'`, [runId]);
  // terraform had saved the state after creating `stuck`, before it hung reading the upstream state.
  expect(events[0]?.message).toMatch(/killed on a force cancel: the state records what it had finished/);

  // The lock went with the killed process, and the state is what the message says: the next run of
  // the finished part plans no changes (nothing would be created twice).
  const next = await stack().startRun({ workspace, files: { 'main.tf': `resource "terraform_data" "stuck" {\n  input = "stuck"\n  provisioner "local-exec" {\n    command = "${stack().effects.command(`${tag}/stuck`)}"\n  }\n}\n` } });
  const planned = await until('the next run to plan', async () => {
    const s = await stack().status(next);
    return ['succeeded', 'awaiting_approval', 'failed'].includes(s.status) ? s : undefined;
  }, 120_000);
  const ok = final.status === 'cancelled' && planned.status === 'succeeded' && stack().effects.counts.get(`${tag}/stuck`) === 1;
  recordFault({ fault: 'hung terraform, force cancel', passed: ok ? 1 : 0, rounds: 1, detail: 'cancel reported "not stopped"; force cancel killed it; its message says what the state holds; the next run plans no changes' });
  expect(planned.status).toBe('succeeded');
  expect(stack().effects.counts.get(`${tag}/stuck`)).toBe(1);
  await upstream.close();
}, 300_000);
