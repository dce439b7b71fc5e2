import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { initOrm } from '../../db/orm.ts';
import { hostsDir, writeFilePlaybook } from '../fixtures/ansible.ts';
import { until } from '../fixtures/until.ts';
import { createUser } from '../fixtures/users.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';
import { useFaultStack } from '../faults/stack.ts';

// An Ansible run the way a team uses one: ssh integrations created through the API, runs started,
// approved and cancelled through it, the API and the worker as separate processes (their logs kept),
// real ansible-playbook against two real sshd hosts. Afterwards the whole record is searched for secrets.
const stack = useFaultStack({ workers: 1 });
const PASSPHRASE = `e2e passphrase ${crypto.randomUUID()}`;
let web1: SshdPeer;
let web2: SshdPeer;
let dir: string;
let adminToken: string;
let inventory: Record<string, unknown>;

const api = (method: string, url: string, body?: unknown, token = stack().token) => stack().call(method, url, token, body);
const waitFor = (runId: string, status: string) =>
  until(`run ${runId} to become ${status}`, async () => {
    const s = await stack().status(runId);
    if (s.status === status) return s;
    if (['succeeded', 'failed', 'cancelled', 'discarded'].includes(s.status) && s.status !== status) {
      const rows = await stack().query<{ message: string }>(`select message from run_events where run_id = $1 and type in ('log', 'step') order by seq`, [runId]);
      const log = rows.map((l) => l.message).slice(-30).join('\n');
      throw new Error(`run ended ${s.status}: ${s.error}\n${log}`);
    }
    return undefined;
  }, 120_000, 100);
const start = async (params: Record<string, unknown>) => {
  const res = await api('POST', '/api/v1/runs', { kind: 'ansible', team: stack().team.slug, params });
  expect(res.status).toBe(201);
  return res.body.id as string;
};

beforeAll(async () => {
  [web1, web2] = await Promise.all([startSshd({ clientKeyPassphrase: PASSPHRASE }), startSshd()]);
  dir = hostsDir();
  const orm = await initOrm(stack().env.DATABASE_URL!, { poolMax: 1 });
  const admin = await createUser(orm.em, { teams: [stack().team], role: 'admin' });
  await orm.close();
  adminToken = (await api('POST', '/api/v1/auth/login', { email: admin.email, password: admin.password }, undefined)).body.accessToken;
  const integration = async (peer: SshdPeer, pin: string) => {
    const res = await api('POST', '/api/v1/integrations', {
      team: stack().team.slug,
      type: 'ssh',
      name: `login-${peer.port}`,
      settings: { user: peer.user, hostKeys: [pin] },
      secrets: { privateKey: peer.clientKey.privateKey, passphrase: peer.clientKey.passphrase },
    }, adminToken);
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  inventory = {
    hosts: [
      { name: 'web1', address: web1.host, port: web1.port, integration: await integration(web1, web1.knownHostsLine) },
      { name: 'web2', address: web2.host, port: web2.port, integration: await integration(web2, web2.hostKeyFingerprint) },
    ],
    groups: { web: { hosts: ['web1', 'web2'], vars: { ansible_python_interpreter: '/usr/bin/python3' } } },
  };
}, 120_000);
afterAll(async () => {
  await Promise.all([web1?.stop(), web2?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('an Ansible run through the API', () => {
  it('refuses bad params with 400 naming the field, and starts nothing', async () => {
    const bad = async (params: Record<string, unknown>, field: string) => {
      const res = await api('POST', '/api/v1/runs', { kind: 'ansible', team: stack().team.slug, params });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(res.body)).toContain(field);
    };
    await bad({ inventory }, 'params.playbook');
    await bad({ inventory: { ...inventory, groups: { web: { hosts: ['web3'] } } }, playbook: '- hosts: all\n' }, 'params.inventory.groups.web.hosts.0');
    await bad({ inventory, playbook: '- hosts: all\n', extraVars: { ansible_ssh_common_args: '-o StrictHostKeyChecking=no' } }, 'params.extraVars.ansible_ssh_common_args');
    const runs = await stack().query('select 1 from runs where kind = $1', ['ansible']);
    expect(runs).toHaveLength(0);
  });

  it('check → approve → play writes the file on both hosts; a second run reports changed=0; no secret anywhere', async () => {
    const params = { inventory, playbook: writeFilePlaybook(dir, 'from the API') };
    const first = await start(params);
    await waitFor(first, 'awaiting_approval');
    const waiting = (await api('GET', `/api/v1/runs/${first}`)).body;
    expect(waiting.summary.check.web1).toMatchObject({ changed: 1, failed: 0 });
    expect(waiting.summary.check.web2).toMatchObject({ changed: 1, failed: 0 });
    expect(existsSync(`${dir}/web1.txt`)).toBe(false);
    expect((await api('POST', `/api/v1/runs/${first}/approve`, { comment: 'go' })).status).toBe(200);
    await waitFor(first, 'succeeded');
    expect(readFileSync(`${dir}/web1.txt`, 'utf8')).toBe('from the API\n');
    expect(readFileSync(`${dir}/web2.txt`, 'utf8')).toBe('from the API\n');
    const done = (await api('GET', `/api/v1/runs/${first}`)).body;
    expect(done.summary.recap.web1).toMatchObject({ changed: 1, failed: 0, unreachable: 0 });

    const second = await start(params);
    await waitFor(second, 'awaiting_approval');
    expect((await api('POST', `/api/v1/runs/${second}/approve`, {})).status).toBe(200);
    await waitFor(second, 'succeeded');
    const again = (await api('GET', `/api/v1/runs/${second}`)).body;
    expect(again.summary.check).toMatchObject({ web1: { changed: 0 }, web2: { changed: 0 } });
    expect(again.summary.recap).toMatchObject({ web1: { changed: 0, ok: 1 }, web2: { changed: 0, ok: 1 } });

    // The secrets: the passphrase, and a line from the middle of each private key.
    const secrets = [PASSPHRASE, web1.clientKey.privateKey.split('\n')[2]!, web2.clientKey.privateKey.split('\n')[2]!];
    const events = JSON.stringify(await stack().query('select * from run_events'));
    const audit = JSON.stringify(await stack().query('select * from audit_log'));
    const runs = JSON.stringify(await stack().query('select * from runs'));
    const apiLog = stack().apiLog.join('\n');
    expect(events).toContain('write the greeting');
    expect(audit).toContain('integration');
    expect(apiLog.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      for (const [where, text] of Object.entries({ events, audit, runs, apiLog })) expect(`${where}: ${text.includes(secret)}`).toBe(`${where}: false`);
    }
  });

  it('a cancel mid-play stops ansible-playbook: the run ends cancelled and the later task never ran', async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const playbook = `
- hosts: web
  gather_facts: false
  tasks:
    - name: wait a while
      ansible.builtin.pause:
        seconds: 60
    - name: append a line
      ansible.builtin.shell: "echo ran >> ${dir}/${tag}.count"
`;
    const runId = await start({ inventory, playbook, check: false, autoApply: true });
    await until('the pause to start', async () => ((await stack().logLines(runId)).some((l) => l.message === 'TASK [wait a while]') ? true : undefined), 60_000, 100);
    expect((await api('POST', `/api/v1/runs/${runId}/cancel`, {})).status).toBe(202);
    const final = await stack().ended(runId, 60_000);
    expect(final.status).toBe('cancelled');
    expect(existsSync(`${dir}/${tag}.count`)).toBe(false);
  });
});
