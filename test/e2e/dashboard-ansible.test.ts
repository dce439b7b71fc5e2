import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { NewRunEvent } from '../../contracts/events.ts';
import type { AnsibleSummary } from '../../contracts/kinds/ansible.ts';
import { describeAnsibleLine } from '../../activities/ansible/lines.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { insertRun } from '../fixtures/runs.ts';
import { launchBrowser, signIn, waitForCount, withPage as withPageOf } from './browser.ts';

// An Ansible run's page in headless Chromium against the real API: the per-host recap as a table and
// each task as a collapsible section. The run's row and events are written as the worker writes them:
// the callback plugin's JSON lines through the same describer the process runner uses.
const dist = path.resolve('web/dist/index.html');
let api: TestApi;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let team: { id: string; slug: string };
let operator: { id: string; email: string; password: string };
const withPage = (fn: (page: Page) => Promise<void>) => withPageOf(browser.context, fn);

/** A line of opssight_json.py's output, as the worker stores it. */
const line = (json: Record<string, unknown>, off: number): NewRunEvent => {
  const d = describeAnsibleLine(JSON.stringify(json), 'stdout');
  return { type: d.type ?? 'log', level: d.level ?? 'info', stream: 'stdout', message: d.message, data: { ...d.data, proc: 'p1', off }, attempt: 1 };
};

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  const namespace = await ownNamespace('ui-ansible');
  api = await startApi({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000', TEMPORAL_NAMESPACE: namespace, ...ownRedisKeys('ui-ansible') });
  team = await createTeam(api.deps.db.em);
  operator = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  browser = await launchBrowser();
  await withPage((page) => signIn(page, api.baseUrl, operator));
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe('an Ansible run\'s page', () => {
  it('shows the per-host recap as a table and each task as a section, the failed one open', async () => {
    const host = (h: Partial<Record<string, unknown>>) => ({ ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0, ...h });
    const summary: AnsibleSummary = {
      check: { web1: host({ ok: 2, changed: 1 }), web2: host({ ok: 2, changed: 1 }) },
      recap: { web1: host({ ok: 2, changed: 1 }), web2: host({ ok: 1, failed: 1, failedTask: 'restart app', message: 'unit app.service not found' }) },
    };
    const runId = await insertRun(api.deps.db.em, team, operator.id, {
      kind: 'ansible',
      target: null,
      status: 'failed',
      error: 'the play failed on 1 host: web2: task "restart app" failed: unit app.service not found',
      summary,
      startedAt: new Date(Date.now() - 10_000),
      finishedAt: new Date(),
    });
    const task = (name: string, uuid: string) => ({ event: 'task', task: name, id: 1, uuid, handler: false });
    const result = (h: string, name: string, uuid: string, status: string, msg: string | null = null) => ({ event: 'host', host: h, task: name, uuid, status, msg, diff: null });
    await api.deps.events.append(runId, [
      line({ event: 'play', name: 'web' }, 10),
      line(task('write config', 't1'), 20),
      line(result('web1', 'write config', 't1', 'changed'), 30),
      line(result('web2', 'write config', 't1', 'ok'), 40),
      line(task('restart app', 't2'), 50),
      line(result('web1', 'restart app', 't2', 'ok'), 60),
      line(result('web2', 'restart app', 't2', 'failed', 'unit app.service not found'), 70),
      line({ event: 'recap', hosts: summary.recap }, 80),
    ]);

    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      const table = page.getByTestId('host-recap');
      await expect(table.locator('caption').textContent()).resolves.toBe('Play recap');
      const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent)));
      expect(rows).toEqual([
        ['web1', '2', '1', '0', '0', '0', '0', '0', ''],
        ['web2', '1', '0', '0', '1', '0', '0', '0', 'restart app: unit app.service not found'],
      ]);
      await expect(table.locator('tr[data-host=web2]').getAttribute('class')).resolves.toBe('bad');

      // The recap comes with the run, the sections with its events, a request later: waited for, not read at once.
      await waitForCount(page, '[data-testid="task-sections"] details', 2);
      const first = page.locator('details[data-task="write config"]');
      const second = page.locator('details[data-task="restart app"]');
      await expect(first.getAttribute('open')).resolves.toBeNull();
      await expect(second.getAttribute('open')).resolves.toBe('');
      await expect(second.locator('summary').textContent()).resolves.toBe('restart app 1 failed, 1 ok');
      await expect(second.locator('.task-log').textContent()).resolves.toContain('failed: [web2] restart app: unit app.service not found');
      // A closed section opens on a click and shows each host's result.
      await first.locator('summary').click();
      await expect(first.getAttribute('open')).resolves.toBe('');
      await expect(first.locator('.task-log').textContent()).resolves.toBe('changed: [web1] write config\nok: [web2] write config');
    });
  });
});
