import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { initOrm } from '../../db/orm.ts';
import { createUser } from '../fixtures/users.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';
import { stopProcess } from '../peers/processes.ts';
import { recordFault, rounds } from './report.ts';
import { useFaultStack } from './stack.ts';

// Worker processes are killed with SIGKILL while an ssh-command runs on two hosts: the command must
// have run exactly once on each (it appends to a file there), every output line must be stored once,
// and the run must end succeeded on the next workers. Secrets must appear nowhere.
const stack = useFaultStack({ workers: 0 });
const PASSPHRASE = `fault-passphrase-${crypto.randomUUID()}`;
const LINES = 30;
let web1: SshdPeer;
let web2: SshdPeer;
let token: string;
const hosts: Array<{ name: string; address: string; port: number; integration: string }> = [];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'opssight-ssh-faults-'));

beforeAll(async () => {
  [web1, web2] = await Promise.all([startSshd({ clientKeyPassphrase: PASSPHRASE }), startSshd()]);
  // Integrations are an admin's to create.
  const orm = await initOrm(stack().env.DATABASE_URL!, { poolMax: 1 });
  const admin = await createUser(orm.em, { teams: [stack().team], role: 'admin' });
  await orm.close();
  token = (await stack().call('POST', '/api/v1/auth/login', undefined, { email: admin.email, password: admin.password })).body.accessToken;
  for (const [name, peer] of [['web1', web1], ['web2', web2]] as const) {
    const res = await stack().call('POST', '/api/v1/integrations', token, {
      team: stack().team.slug,
      type: 'ssh',
      name,
      settings: { user: peer.user, hostKeys: [peer.knownHostsLine] },
      secrets: { privateKey: peer.clientKey.privateKey, passphrase: peer.clientKey.passphrase },
    });
    expect(res.status).toBe(201);
    hosts.push({ name, address: peer.host, port: peer.port, integration: res.body.id });
  }
}, 60_000);
afterAll(async () => {
  await Promise.all([web1?.stop(), web2?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

it('worker kill -9 mid-command: the command ran once on each host, every line stored once', async () => {
  const total = rounds(1, 10);
  const outcomes: Array<{ runId: string; ok: boolean; why: string }> = [];
  let workers = [await stack().worker(), await stack().worker()];
  for (let round = 0; round < total; round++) {
    const effects = path.join(scratch, `effects-${round}`);
    // The side effect names the server it ran on (its port), so a second run on a host shows.
    const command = `echo "$SSH_CONNECTION" | awk '{print $4}' >> ${effects}; for i in $(seq 1 ${LINES}); do echo line-$i; sleep 0.05; done`;
    const res = await stack().call('POST', '/api/v1/runs', token, { kind: 'ssh-command', team: stack().team.slug, params: { hosts, command } });
    expect(res.status).toBe(201);
    const runId = res.body.id as string;
    const perHost = async () => {
      const rows = await stack().query<{ host: string; message: string }>(`select data->>'host' as host, message from run_events where run_id = $1 and type = 'log' order by seq`, [runId]);
      return Object.fromEntries(hosts.map((h) => [h.name, rows.filter((r) => r.host === h.name).map((r) => r.message)]));
    };
    // Mid-command on both hosts: some lines stored, not all.
    await stack().untilRuns([runId], 'both hosts to be under way', async () => {
      const lines = await perHost();
      // Two worker processes and two SSH sessions come first: on a loaded CI machine that took over a minute.
      return hosts.every((h) => lines[h.name]!.length >= 3) ? true : undefined;
    }, 180_000, 25);
    for (const w of workers) await stopProcess(w.child, 'SIGKILL');
    workers = [await stack().worker(), await stack().worker()];

    const final = await stack().ended(runId, 120_000);
    const ran = readFileSync(effects, 'utf8').trim().split('\n').sort();
    const lines = await perHost();
    const expected = Array.from({ length: LINES }, (_, i) => `line-${i + 1}`);
    const linesOk = hosts.every((h) => JSON.stringify(lines[h.name]) === JSON.stringify(expected));
    const ranOnce = JSON.stringify(ran) === JSON.stringify([String(web1.port), String(web2.port)].sort());
    const ok = final.status === 'succeeded' && ranOnce && linesOk;
    outcomes.push({ runId, ok, why: `${final.status} ${final.error ?? ''} ran=${ran.join(',')} lines=${hosts.map((h) => lines[h.name]!.length).join(',')}` });
  }
  const passed = outcomes.filter((o) => o.ok).length;
  recordFault({ fault: 'worker kill -9 mid ssh-command', passed, rounds: outcomes.length, detail: 'command ran once on each of 2 hosts (appends to a file there), each of its output lines stored once per host, run succeeded' });
  expect(outcomes.filter((o) => !o.ok)).toEqual([]);

  // Secrets: not in the event store, the audit table or the API's log.
  const keyLines = web1.clientKey.privateKey.split('\n').filter((l) => l.length > 20);
  const needles = [PASSPHRASE, ...keyLines];
  const events = await stack().query<{ text: string }>(`select message || coalesce(data::text, '') as text from run_events`);
  const audit = await stack().query<{ text: string }>(`select row_to_json(a)::text as text from audit_log a`);
  expect(audit.some((a) => a.text.includes('integration.create'))).toBe(true);
  for (const text of [...events.map((e) => e.text), ...audit.map((a) => a.text), ...stack().apiLog]) {
    for (const n of needles) expect(text).not.toContain(n);
  }
}, 600_000);
