import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Connection } from '@temporalio/client';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';
import { createNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { inOwnBrowser, screenshot, signIn, waitForLogLine } from './browser.ts';

// In headless Chromium against the real API, a real worker and two real sshd: a team admin adds an
// SSH login on the Integrations page, starts an ssh-command run from the generated form and sees each
// host's output and exit code. Needs the built dashboard (npm run build:web).
let api: TestApi;
let worker: TestWorker;
let web1: SshdPeer;
let web2: SshdPeer;
let team: { id: string; slug: string };
let admin: { id: string; email: string; password: string };

beforeAll(async () => {
  const isolated = { TEMPORAL_NAMESPACE: `ssh-ui-${crypto.randomUUID().slice(0, 8)}` };
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  await createNamespace(connection, isolated.TEMPORAL_NAMESPACE);
  await connection.close();
  [api, worker, web1, web2] = await Promise.all([startApi(isolated), startTestWorker(isolated), startSshd({ clientKeyPassphrase: 'ui passphrase' }), startSshd()]);
  team = await createTeam(api.deps.db.em);
  admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await Promise.all([web1?.stop(), web2?.stop()]);
});

describe('an ssh-command run from the dashboard', () => {
  it('adds an SSH login, starts the command on two hosts from the generated form, shows each host’s output and exit code', async () => {
    const admins = client(api, await tokenFor(api, admin.id));
    // The second host's login through the API; the first one is pasted in the browser below.
    const second = await admins.post('/api/v1/integrations', {
      team: team.slug, type: 'ssh', name: 'web2-login',
      settings: { user: web2.user, hostKeys: [web2.knownHostsLine] }, secrets: { privateKey: web2.clientKey.privateKey },
    });
    expect(second.status).toBe(201);

    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.getByRole('link', { name: 'Integrations' }).click();
      await page.getByRole('heading', { name: 'Integrations' }).waitFor();
      await page.locator('#new-name').fill('web1-login');
      await page.locator('#new-setting-user').fill(web1.user);
      await page.locator('#new-setting-hostKeys').fill(web1.knownHostsLine);
      await page.locator('#new-secret-privateKey').fill(web1.clientKey.privateKey);
      await page.locator('#new-secret-passphrase').fill(web1.clientKey.passphrase);
      await page.getByRole('button', { name: 'Add integration' }).click();
      await page.getByRole('status').filter({ hasText: `Added web1-login. Key fingerprint ${web1.clientKey.fingerprint}.` }).waitFor();

      const listed = await admins.get(`/api/v1/integrations?team=${team.slug}`);
      const first = (listed.body.items as { id: string; name: string }[]).find((i) => i.name === 'web1-login')!;
      const hosts = [
        { name: 'web1', address: web1.host, port: web1.port, integration: first.id },
        { name: 'web2', address: web2.host, port: web2.port, integration: second.body.id },
      ];

      await page.getByRole('link', { name: 'Start a run' }).first().click();
      const form = page.getByTestId('start-form');
      await form.locator('#run-kind').selectOption('ssh-command');
      await form.getByLabel('Hosts').fill(JSON.stringify(hosts, null, 2));
      await form.getByLabel('Command').fill(`echo "hello from port $(echo $SSH_CONNECTION | awk '{print $4}')"; [ "$(echo $SSH_CONNECTION | awk '{print $4}')" != ${web2.port} ] || exit 5`);
      await form.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);

      await waitForLogLine(page, new RegExp(`^\\[web1\\] hello from port ${web1.port}$`));
      await waitForLogLine(page, new RegExp(`^\\[web2\\] hello from port ${web2.port}$`));
      const table = page.getByTestId('host-results');
      await table.waitFor({ timeout: 60_000 });
      const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children as ArrayLike<{ textContent: string | null }>).map((c) => c.textContent)));
      expect(rows).toEqual([
        ['web1', 'succeeded', '0', ''],
        ['web2', 'failed', '5', 'exit code 5'],
      ]);
      await page.getByText('1 of 2 hosts failed: web2 (exit code 5)').first().waitFor();
      await screenshot(page, 'ssh-command-hosts');
    });
  }, 180_000);
});
