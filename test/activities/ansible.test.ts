import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ANSIBLE_FAILED, type AnsibleParams } from '../../contracts/kinds/ansible.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { ansibleParams, appendPlaybook, hostsDir, inventoryOf, storeSshIntegration, writeFilePlaybook } from '../fixtures/ansible.ts';
import { testKeys } from '../fixtures/integrations.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { until } from '../fixtures/until.ts';
import { workerActivities, type WorkerActivities } from '../peers/activities.ts';
import { peerContext } from '../peers/context.ts';
import { startGitServer, type GitServerPeer } from '../peers/git-server.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';

let ctx: Awaited<ReturnType<typeof peerContext>>;
let w: WorkerActivities;
let web1: SshdPeer;
let web2: SshdPeer;
let dir: string;
let git: GitServerPeer;
const PASSPHRASE = `ansible passphrase ${crypto.randomUUID()}`;

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const mockEnv = () => new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 1000 }, { logger: quiet });
const inActivity = <A, R>(env: MockActivityEnvironment, fn: (input: A) => Promise<R>, input: A): Promise<R> => env.run(fn, input) as Promise<R>;
const eventsOf = (runId: string) => ctx.events.list(runId, 0, 5000);

/** A run of a team whose ssh integrations log in to web1 (passphrase-protected key) and web2. */
async function team(opts: { web2HostKeys?: string[]; web2Key?: string } = {}) {
  const { runId, teamId } = await createRunWithTeam(ctx.db.em, 'ansible');
  const keyring = keyringFromConfig(w.config);
  const i1 = await storeSshIntegration(ctx.db.em, keyring, teamId, { user: web1.user, hostKeys: [web1.knownHostsLine], privateKey: web1.clientKey.privateKey, passphrase: PASSPHRASE });
  const i2 = await storeSshIntegration(ctx.db.em, keyring, teamId, {
    user: web2.user,
    // A fingerprint-only pin: matched against what the host presents.
    hostKeys: opts.web2HostKeys ?? [web2.hostKeyFingerprint],
    privateKey: opts.web2Key ?? web2.clientKey.privateKey,
  });
  return { runId, teamId, inventory: inventoryOf([{ peer: web1, integration: i1 }, { peer: web2, integration: i2 }]) };
}

async function check(runId: string, teamId: string, params: AnsibleParams) {
  return inActivity(mockEnv(), w.activities.ansibleCheck, { runId, teamId, params, step: 'check' });
}
async function play(runId: string, teamId: string, params: AnsibleParams, step = 'run') {
  return inActivity(mockEnv(), w.activities.ansiblePlay, { runId, teamId, params, step });
}

beforeAll(async () => {
  ctx = await peerContext();
  w = await workerActivities(ctx);
  [web1, web2, git] = await Promise.all([startSshd({ clientKeyPassphrase: PASSPHRASE }), startSshd(), startGitServer()]);
  dir = hostsDir();
});
afterAll(async () => {
  await Promise.all([web1?.stop(), web2?.stop(), git?.stop()]);
  await w?.close();
  await ctx?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ansible-playbook against two real sshd hosts', () => {
  it('check shows the change without making it; the real run makes it on both hosts; a second run changes nothing', async () => {
    const t = await team();
    const params = ansibleParams({ inventory: t.inventory, playbook: writeFilePlaybook(dir) });
    const checked = await check(t.runId, t.teamId, params);
    expect(checked.problems).toEqual([]);
    expect(checked.recap.web1).toMatchObject({ changed: 1, failed: 0, unreachable: 0 });
    expect(checked.recap.web2).toMatchObject({ changed: 1, failed: 0, unreachable: 0 });
    expect(existsSync(`${dir}/web1.txt`)).toBe(false);

    const played = await play(t.runId, t.teamId, params);
    expect(played.recap.web1).toMatchObject({ changed: 1, failed: 0 });
    expect(played.recap.web2).toMatchObject({ changed: 1, failed: 0 });
    expect(readFileSync(`${dir}/web1.txt`, 'utf8')).toBe('hello from OpsSight\n');
    expect(readFileSync(`${dir}/web2.txt`, 'utf8')).toBe('hello from OpsSight\n');

    // Each task's result on each host is a step event naming both; the diff of the check is in the log.
    const events = await eventsOf(t.runId);
    const steps = events.filter((e) => e.type === 'step' && (e.data?.ansible as { event?: string } | undefined)?.event === 'host');
    expect(steps.map((e) => (e.data!.ansible as { host: string; task: string; status: string })).sort((a, b) => a.host.localeCompare(b.host))).toEqual([
      expect.objectContaining({ host: 'web1', task: 'write the greeting', status: 'changed' }),
      expect.objectContaining({ host: 'web1', task: 'write the greeting', status: 'changed' }),
      expect.objectContaining({ host: 'web2', task: 'write the greeting', status: 'changed' }),
      expect.objectContaining({ host: 'web2', task: 'write the greeting', status: 'changed' }),
    ]);
    expect(events.some((e) => e.message.includes('+hello from OpsSight'))).toBe(true);
    expect(events.some((e) => e.type === 'log' && e.message.startsWith('TASK [write the greeting]'))).toBe(true);
    // Neither the private keys nor the passphrase reach the event store.
    const stored = JSON.stringify(events);
    expect(stored).not.toContain(PASSPHRASE);
    for (const key of [web1.clientKey.privateKey, web2.clientKey.privateKey]) expect(stored).not.toContain(key.split('\n')[1]!);

    // Another real run of the same playbook (a step of its own): nothing left to change.
    const second = await play(t.runId, t.teamId, params, 'run-again');
    expect(second.recap.web1).toMatchObject({ changed: 0, ok: 1 });
    expect(second.recap.web2).toMatchObject({ changed: 0, ok: 1 });
  });

  it('a task failing on one host fails that host, naming the task; the other host\'s results are kept', async () => {
    const t = await team();
    const playbook = `
- hosts: web
  gather_facts: false
  tasks:
    - name: first
      ansible.builtin.command: "true"
    - name: only web1 may pass
      ansible.builtin.fail:
        msg: web2 is not ready
      when: inventory_hostname == 'web2'
    - name: after
      ansible.builtin.command: "true"
`;
    const played = await play(t.runId, t.teamId, ansibleParams({ inventory: t.inventory, playbook, check: false }));
    expect(played.recap.web1).toMatchObject({ ok: 2, failed: 0, changed: 2 });
    expect(played.recap.web2).toMatchObject({ failed: 1, failedTask: 'only web1 may pass', message: 'web2 is not ready' });
    expect(played.problems).toEqual(['web2: task "only web1 may pass" failed: web2 is not ready']);
  });

  it('a wrong key leaves that host unreachable with the refusal named', async () => {
    const t = await team({ web2Key: testKeys().plain.privateKey });
    const checked = await check(t.runId, t.teamId, ansibleParams({ inventory: t.inventory, playbook: writeFilePlaybook(dir, 'x') }));
    expect(checked.recap.web1).toMatchObject({ unreachable: 0 });
    expect(checked.recap.web2).toMatchObject({ unreachable: 1 });
    expect(checked.problems).toEqual(["web2: unreachable: the ssh integration's key was refused (Permission denied)"]);
  });

  it('a host key other than the pinned one is refused, and the error names the fingerprint the host presented', async () => {
    const other = testKeys().hostKey;
    const t = await team({ web2HostKeys: [`[127.0.0.1]:${web2.port} ${other.publicKey}`] });
    const checked = await check(t.runId, t.teamId, ansibleParams({ inventory: t.inventory, playbook: writeFilePlaybook(dir, 'y') }));
    expect(checked.recap.web2).toMatchObject({ unreachable: 1 });
    expect(checked.problems[0]).toContain(`web2: unreachable: host key verification failed: the host presented ${web2.hostKeyFingerprint}`);
  });

  it('a fingerprint-only pin that the host does not present refuses the step, naming what the host presented', async () => {
    const t = await team({ web2HostKeys: [testKeys().hostKey.fingerprint] });
    const err = await check(t.runId, t.teamId, ansibleParams({ inventory: t.inventory, playbook: writeFilePlaybook(dir, 'z') })).catch((e: unknown) => e);
    expect((err as Error).message).toContain(`inventory.hosts web2: [127.0.0.1]:${web2.port} presented ${web2.hostKeyFingerprint}, none of which its ssh integration pins`);
  });

  it('a host refusing connections is unreachable with the reason; the other host\'s results are kept', async () => {
    const t = await team();
    const down = await startSshd();
    await down.stop();
    const inventory = { ...t.inventory, hosts: t.inventory.hosts.map((h) => (h.name === 'web2' ? { ...h, port: down.port } : h)) };
    const checked = await check(t.runId, t.teamId, ansibleParams({ inventory, playbook: writeFilePlaybook(dir, 'w') }));
    expect(checked.recap.web1).toMatchObject({ ok: 1, unreachable: 0 });
    expect(checked.recap.web2).toMatchObject({ unreachable: 1 });
    expect(checked.problems[0]).toMatch(/^web2: unreachable: .*Connection refused/);
  });

  it('a YAML syntax error fails the step with the line it is on', async () => {
    const t = await team();
    const playbook = '- hosts: web\n  tasks:\n    - name: broken\n     command: "true"\n    - name: fine\n';
    const err = await check(t.runId, t.teamId, ansibleParams({ inventory: t.inventory, playbook })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(ANSIBLE_FAILED);
    expect((err as Error).message).toContain('Origin: playbook.yml line 4, column 6');
  });

  it('an unknown role fails the step naming the role', async () => {
    const t = await team();
    const playbook = '- hosts: web\n  roles:\n    - no_such_role\n';
    const err = await check(t.runId, t.teamId, ansibleParams({ inventory: t.inventory, playbook })).catch((e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe(ANSIBLE_FAILED);
    expect((err as Error).message).toContain('no_such_role');
  });

  it('runs roles and templates given as files', async () => {
    const t = await team();
    const files = {
      'site.yml': '- hosts: web\n  gather_facts: false\n  roles:\n    - greet\n',
      'roles/greet/tasks/main.yml': `- name: render\n  ansible.builtin.template:\n    src: greeting.j2\n    dest: "${dir}/{{ inventory_hostname }}.role"\n`,
      'roles/greet/templates/greeting.j2': 'hi {{ who }} on {{ inventory_hostname }}\n',
    };
    const played = await play(t.runId, t.teamId, ansibleParams({ inventory: t.inventory, files, entry: 'site.yml', extraVars: { who: 'ops' }, check: false }));
    expect(played.problems).toEqual([]);
    expect(readFileSync(`${dir}/web2.role`, 'utf8')).toBe('hi ops on web2\n');
  });

  it('takes the playbook and its roles from a git source and reports the commit it ran', async () => {
    const t = await team();
    const repo = `play-${crypto.randomUUID().slice(0, 8)}`;
    const commit = git.createRepo(repo, {
      'README.md': 'not a playbook',
      'ops/site.yml': '- hosts: web\n  gather_facts: false\n  roles:\n    - mark\n',
      'ops/roles/mark/tasks/main.yml': `- name: mark the host\n  ansible.builtin.copy:\n    dest: "${dir}/{{ inventory_hostname }}.git"\n    content: "from git\\n"\n`,
    });
    const params = ansibleParams({ inventory: t.inventory, source: { url: git.url(repo), ref: 'main', path: 'ops' }, entry: 'site.yml', check: false });
    const played = await play(t.runId, t.teamId, params);
    expect(played).toMatchObject({ commit, problems: [] });
    expect(readFileSync(`${dir}/web1.git`, 'utf8')).toBe('from git\n');
  });

  it('a cancel interrupts the play (SIGINT): the tasks after it never run', async () => {
    const t = await team();
    const env = mockEnv();
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const params = ansibleParams({ inventory: t.inventory, playbook: appendPlaybook(dir, 60), check: false });
    const playing = inActivity(env, w.activities.ansiblePlay, { runId: t.runId, teamId: t.teamId, params, step: 'run' }).catch((e: unknown) => e);
    await until('the long task to start', async () => ((await eventsOf(t.runId)).some((e) => e.message.startsWith('TASK [wait a while]')) ? true : undefined));
    await until('a heartbeat', async () => (heartbeats.length > 0 ? true : undefined));
    const started = Date.now();
    env.cancel();
    const err = await playing;
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(existsSync(`${dir}/web1.count`)).toBe(false);
  });
});
