import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { RunEvent } from '../../contracts/events.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';
import { createNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// ssh-command runs through the API, a real worker and two real OpenSSH servers.
let api: TestApi;
let worker: TestWorker;
let web1: SshdPeer;
let web2: SshdPeer;
let admin: ReturnType<typeof client>;
let team: { id: string; slug: string };
const integrations: Record<string, string> = {};
const scratch = mkdtempSync(path.join(os.tmpdir(), 'opssight-ssh-e2e-'));

beforeAll(async () => {
  const isolated = { TEMPORAL_NAMESPACE: `ssh-${crypto.randomUUID().slice(0, 8)}` };
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  await createNamespace(connection, isolated.TEMPORAL_NAMESPACE);
  await connection.close();
  [api, worker, web1, web2] = await Promise.all([startApi(isolated), startTestWorker({ ...isolated, CANCEL_GRACE_MS: '2000' }), startSshd({ clientKeyPassphrase: 'e2e passphrase' }), startSshd()]);
  team = await createTeam(api.deps.db.em);
  admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
  for (const [name, peer] of [['web1', web1], ['web2', web2]] as const) {
    const res = await admin.post('/api/v1/integrations', {
      team: team.slug,
      type: 'ssh',
      name: `${name}-login`,
      settings: { user: peer.user, hostKeys: [peer.knownHostsLine] },
      secrets: { privateKey: peer.clientKey.privateKey, passphrase: peer.clientKey.passphrase },
    });
    expect(res.status).toBe(201);
    integrations[name] = res.body.id;
  }
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await Promise.all([web1?.stop(), web2?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

/** `n` host entries alternating between the two servers (the same sshd under several names). */
const aliases = (n: number) =>
  Array.from({ length: n }, (_, i) => {
    const [peer, login] = i % 2 === 0 ? [web1, integrations.web1!] : [web2, integrations.web2!];
    return { name: `host${i + 1}`, address: peer.host, port: peer.port, integration: login };
  });
const start = async (params: Record<string, unknown>) => {
  const res = await admin.post('/api/v1/runs', { kind: 'ssh-command', team: team.slug, params });
  expect(res.status).toBe(201);
  return res.body.id as string;
};
const ended = (runId: string) =>
  until(`run ${runId} to end`, async () => {
    const run = (await admin.get(`/api/v1/runs/${runId}`)).body;
    return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
  }, 90_000, 100);
const eventsOf = async (runId: string): Promise<RunEvent[]> => (await admin.get(`/api/v1/runs/${runId}/events?limit=5000`)).body.events;

describe('an ssh-command run', () => {
  it('runs on every host, at most `parallel` at once, and names each output line’s host', async () => {
    const stamps = path.join(scratch, 'stamps');
    // Each host writes when it starts and ends; the intervals show how many ran at once.
    const command = `echo "start $(date +%s%N)" >> ${stamps}; echo hello from the command; sleep 0.4; echo "end $(date +%s%N)" >> ${stamps}`;
    const runId = await start({ hosts: aliases(6), command, parallel: 2 });
    const run = await ended(runId);
    expect(run.status).toBe('succeeded');
    expect(run.summary).toEqual({ hosts: aliases(6).map((h) => ({ host: h.name, status: 'succeeded', exitCode: 0 })), succeeded: 6, failed: 0, pending: 0 });
    const logs = (await eventsOf(runId)).filter((e) => e.type === 'log');
    expect(logs.map((e) => `${e.data?.host}: ${e.message}`).sort()).toEqual(aliases(6).map((h) => `${h.name}: hello from the command`).sort());

    const marks = readFileSync(stamps, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([what, ns]) => ({ what, at: BigInt(ns!) }));
    marks.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    let now = 0;
    let most = 0;
    for (const m of marks) most = Math.max(most, (now += m.what === 'start' ? 1 : -1));
    expect(marks).toHaveLength(12);
    expect(most).toBe(2);
  });

  it('fails the run when one host fails, keeping the others’ results and output', async () => {
    // A command that fails only on one of them: the server's port tells them apart.
    const bad = await start({
      hosts: aliases(3),
      command: `case "$SSH_CONNECTION" in *" ${web2.port}") echo broken >&2; exit 7;; esac; echo fine`,
    });
    const run = await ended(bad);
    expect(run.status).toBe('failed');
    expect(run.error).toBe('1 of 3 hosts failed: host2 (exit code 7)');
    expect(run.summary.hosts).toEqual([
      { host: 'host1', status: 'succeeded', exitCode: 0 },
      { host: 'host2', status: 'failed', exitCode: 7, error: 'exit code 7' },
      { host: 'host3', status: 'succeeded', exitCode: 0 },
    ]);
    const lines = (await eventsOf(bad)).filter((e) => e.type === 'log').map((e) => `${e.data?.host}/${e.stream}: ${e.message}`);
    expect(lines.sort()).toEqual(['host1/stdout: fine', 'host2/stderr: broken', 'host3/stdout: fine']);
  });

  it('cancel mid-command stops the remote process (its pid is gone) and ends the run cancelled', async () => {
    const pidFile = path.join(scratch, 'cancel.pid');
    const runId = await start({ hosts: aliases(1), command: `sleep 300 & echo $! > ${pidFile}; echo started; wait` });
    await until('the command to start', async () => ((await eventsOf(runId)).some((e) => e.message === 'started') ? true : undefined), 30_000, 100);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(isRunning(pid)).toBe(true);
    expect((await admin.post(`/api/v1/runs/${runId}/cancel`, {})).status).toBe(202);
    const run = await ended(runId);
    expect(run.status).toBe('cancelled');
    await until('the remote sleep to be gone', async () => (isRunning(pid) ? undefined : true), 10_000);
    expect((await eventsOf(runId)).some((e) => e.message === 'host1: stopped on a cancel (exit code 143)')).toBe(true);
  });

  it('refuses bad params with a 400 naming the field, and starts nothing', async () => {
    const res = await admin.post('/api/v1/runs', { kind: 'ssh-command', team: team.slug, params: { hosts: [...aliases(1), ...aliases(1)], command: 'true', parallel: 0 } });
    expect(res.status).toBe(400);
    const fields = (res.body.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['params.hosts.1.name', 'params.parallel']);
  });
});

/** Alive and not a zombie waiting to be reaped. */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
