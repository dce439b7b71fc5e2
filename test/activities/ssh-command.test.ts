import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActivityCancellationDetails, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { RunEvent } from '../../contracts/events.ts';
import type { SshHostResult } from '../../contracts/kinds/ssh-command.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { recordLaunch } from '../../db/repositories/run-processes.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { hostOf, storeSshIntegration } from '../fixtures/ssh-command.ts';
import { until } from '../fixtures/until.ts';
import { workerActivities, type WorkerActivities } from '../peers/activities.ts';
import { peerContext } from '../peers/context.ts';
import { generateKeyPair, startSshd, type SshdPeer } from '../peers/sshd.ts';
import { processAlive } from '../peers/processes.ts';
import { freePort } from '../peers/temporal.ts';

// The per-host activity against two real OpenSSH servers: nothing between the worker and sshd is mocked.
const PASSPHRASE = `never-in-events-${crypto.randomUUID()}`;
let ctx: Awaited<ReturnType<typeof peerContext>>;
let w: WorkerActivities;
let web1: SshdPeer;
let web2: SshdPeer;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'opssight-ssh-test-'));
const runIds: string[] = [];

beforeAll(async () => {
  ctx = await peerContext();
  [w, web1, web2] = await Promise.all([workerActivities(ctx), startSshd({ clientKeyPassphrase: PASSPHRASE }), startSshd()]);
});
afterAll(async () => {
  await Promise.all([web1?.stop(), web2?.stop()]);
  await w?.close();
  await ctx?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const mockEnv = (attempt = 1) => new MockActivityEnvironment({ attempt, heartbeatTimeoutMs: 1000 }, { logger: quiet });
const keyring = () => keyringFromConfig(w.config);

async function newRun() {
  const run = await createRunWithTeam(ctx.db.em, 'ssh-command');
  runIds.push(run.runId);
  return run;
}
const call = (env: MockActivityEnvironment, input: Parameters<WorkerActivities['activities']['sshCommandHost']>[0]) =>
  env.run(w.activities.sshCommandHost, input) as Promise<SshHostResult>;
const stop = (input: Parameters<WorkerActivities['activities']['sshCommandStop']>[0]) =>
  mockEnv(1).run(w.activities.sshCommandStop, input) as Promise<{ running: boolean }>;
const eventsOf = (runId: string): Promise<RunEvent[]> => ctx.events.list(runId, 0, 50_000);
const linesOf = (events: RunEvent[], host: string, stream?: 'stdout' | 'stderr') =>
  events.filter((e) => e.type === 'log' && e.data?.host === host && (!stream || e.stream === stream)).map((e) => e.message);

describe('sshCommandHost', () => {
  it('runs the command on two hosts, each log event naming its host, and reports exit codes', async () => {
    const { runId, teamId } = await newRun();
    const [i1, i2] = await Promise.all([storeSshIntegration(ctx.db.em, keyring(), teamId, web1), storeSshIntegration(ctx.db.em, keyring(), teamId, web2)]);
    const command = 'echo "out-1 $OPSSIGHT_NONE"; echo err-1 >&2; printf "out-2\\nno-newline"; test "$(pwd)" = "$HOME" || exit 9';
    const [r1, r2] = await Promise.all([
      call(mockEnv(), { runId, teamId, host: hostOf(web1, 'web1', i1), command, timeoutSeconds: 60, step: 'host-web1' }),
      call(mockEnv(), { runId, teamId, host: hostOf(web2, 'web2', i2), command: `${command}; exit 3`, timeoutSeconds: 60, step: 'host-web2' }),
    ]);
    expect(r1).toEqual({ host: 'web1', status: 'succeeded', exitCode: 0 });
    expect(r2).toMatchObject({ host: 'web2', status: 'failed', exitCode: 3, error: 'exit code 3' });
    const events = await eventsOf(runId);
    for (const host of ['web1', 'web2']) {
      expect(linesOf(events, host, 'stdout')).toEqual(['out-1 ', 'out-2', 'no-newline']);
      expect(linesOf(events, host, 'stderr')).toEqual(['err-1']);
    }
    expect(events.filter((e) => e.type === 'step' && e.data?.host === 'web2').map((e) => e.message)).toEqual(['web2: exit code 3']);
    // Nothing left on the host once the ending is recorded.
    const rows = await ctx.db.em.getConnection().execute<{ id: string; outcome: string; exit_code: number }[]>('select id, outcome, exit_code from run_processes where run_id = ? order by step', [runId]);
    expect(rows.map((r) => [r.outcome, r.exit_code])).toEqual([['exited', 0], ['exited', 3]]);
    for (const r of rows) expect(existsSync(path.join(os.homedir(), '.opssight', r.id))).toBe(false);
  });

  it('stores a large output whole and in order, lines split across SSH packets included', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web2);
    const r = await call(mockEnv(), { runId, teamId, host: hostOf(web2, 'web2', id), command: 'seq 1 20000 | sed "s/$/ some padding to make the lines longer/"', timeoutSeconds: 120, step: 'host-web2' });
    expect(r.status).toBe('succeeded');
    const lines = linesOf(await eventsOf(runId), 'web2', 'stdout');
    expect(lines).toHaveLength(20000);
    expect(lines.every((l, i) => l === `${i + 1} some padding to make the lines longer`)).toBe(true);
  });

  it('refuses a host whose key is not pinned, naming the fingerprint it presented', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web1, { hostKeys: [web2.knownHostsLine] });
    const marker = path.join(scratch, `unknown-${runId}`);
    const r = await call(mockEnv(), { runId, teamId, host: hostOf(web1, 'web1', id), command: `touch ${marker}`, timeoutSeconds: 60, step: 'host-web1' });
    expect(r.status).toBe('failed');
    expect(r.error).toContain(`host key ${web1.hostKeyFingerprint} of web1 (127.0.0.1:${web1.port}) is not pinned`);
    expect(existsSync(marker)).toBe(false);
    const steps = (await eventsOf(runId)).filter((e) => e.type === 'step').map((e) => e.message);
    expect(steps).toEqual([`web1: ${r.error}`]);
  });

  it('refuses a host whose pinned key changed, naming both fingerprints', async () => {
    const { runId, teamId } = await newRun();
    const other = generateKeyPair(mkdtempSync(path.join(scratch, 'k-')), 'impostor');
    const pin = `[127.0.0.1]:${web1.port} ${other.publicKey.split(' ').slice(0, 2).join(' ')}`;
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web1, { hostKeys: [pin] });
    const r = await call(mockEnv(), { runId, teamId, host: hostOf(web1, 'web1', id), command: 'true', timeoutSeconds: 60, step: 'host-web1' });
    expect(r.error).toMatch(/host key of web1 .* has CHANGED/);
    expect(r.error).toContain(`presented ${web1.hostKeyFingerprint}`);
    expect(r.error).toContain(other.fingerprint);
  });

  it('says so when the key is refused, its passphrase is wrong, or nothing listens', async () => {
    const { runId, teamId } = await newRun();
    const stranger = generateKeyPair(mkdtempSync(path.join(scratch, 'k-')), 'stranger');
    const wrongKey = await storeSshIntegration(ctx.db.em, keyring(), teamId, web2, { privateKey: stranger.privateKey });
    const r = await call(mockEnv(), { runId, teamId, host: hostOf(web2, 'web2', wrongKey), command: 'true', timeoutSeconds: 60, step: 'host-web2' });
    expect(r.error).toBe(`authentication failed on web2 (127.0.0.1:${web2.port}): user ${web2.user} with key ${stranger.fingerprint} (integration login-${wrongKey.slice(0, 8)}) was refused. Is the public key in that user's authorized_keys?`);

    // The API refuses a passphrase that does not open the key; one stored before the key changed still can.
    const badPassphrase = await storeSshIntegration(ctx.db.em, keyring(), teamId, web1, { passphrase: 'not the passphrase' });
    const locked = await call(mockEnv(), { runId, teamId, host: hostOf(web1, 'web1', badPassphrase), command: 'true', timeoutSeconds: 60, step: 'host-web1' });
    expect(locked.error).toBe(`integration login-${badPassphrase.slice(0, 8)}: the passphrase of the private key: does not decrypt the private key`);

    const otherTeams = await storeSshIntegration(ctx.db.em, keyring(), (await createRunWithTeam(ctx.db.em, 'ssh-command')).teamId, web2);
    const foreign = await call(mockEnv(), { runId, teamId, host: hostOf(web2, 'web2', otherTeams), command: 'true', timeoutSeconds: 60, step: 'host-foreign' });
    expect(foreign.error).toBe(`cannot use integration ${otherTeams}: ssh integration ${otherTeams} not found in the run's team`);

    const good = await storeSshIntegration(ctx.db.em, keyring(), teamId, web2);
    const closed = await freePort();
    const refused = await call(mockEnv(), { runId, teamId, host: { name: 'gone', address: '127.0.0.1', port: closed, integration: good }, command: 'true', timeoutSeconds: 60, step: 'host-gone' });
    expect(refused.error).toBe(`connection refused by gone (127.0.0.1:${closed}): nothing listens on port ${closed} (is sshd running?)`);
  });

  it('stops the remote command on a cancel: its process is gone afterwards', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web2);
    const pidFile = path.join(scratch, `pid-${runId}`);
    const env = mockEnv();
    const running = call(env, { runId, teamId, host: hostOf(web2, 'web2', id), command: `sleep 300 & echo $! > ${pidFile}; echo started; wait`, timeoutSeconds: 600, step: 'host-web2' });
    await until('the command to start', async () => (linesOf(await eventsOf(runId), 'web2').includes('started') ? true : undefined), 20_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(processAlive(pid)).toBe(true);
    env.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    await until('the remote sleep to be gone', async () => (processAlive(pid) ? undefined : true), 10_000);
    const steps = (await eventsOf(runId)).filter((e) => e.type === 'step').map((e) => e.message);
    expect(steps).toEqual(['web2: stopped on a cancel (exit code 143)']);
  });

  it('stops a command that outlives timeoutSeconds and fails the host', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web2);
    const r = await call(mockEnv(), { runId, teamId, host: hostOf(web2, 'web2', id), command: 'echo slow; sleep 30', timeoutSeconds: 1, step: 'host-web2' });
    expect(r).toEqual({ host: 'web2', status: 'failed', exitCode: 143, error: 'timed out after 1s and was stopped' });
    expect(linesOf(await eventsOf(runId), 'web2', 'stdout')).toEqual(['slow']);
  });

  it('a command that ignores the cancel is reported, and killed only on a force cancel', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web2);
    const pidFile = path.join(scratch, `stubborn-${runId}`);
    const env = mockEnv();
    const running = call(env, { runId, teamId, host: hostOf(web2, 'web2', id), command: `trap '' TERM; sleep 300 & echo $! > ${pidFile}; echo started; wait`, timeoutSeconds: 600, step: 'host-web2' });
    await until('the command to start', async () => (linesOf(await eventsOf(runId), 'web2').includes('started') ? true : undefined), 20_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    env.cancel();
    const hung = await until('the run to say the command has not stopped', async () => (await eventsOf(runId)).find((e) => e.data?.hung === true), 20_000, 100);
    expect(hung.message).toMatch(/^web2: the command has not stopped \d+s after the cancel\. Force cancel kills it\.$/);
    expect(processAlive(pid)).toBe(true);
    await ctx.db.em.getConnection().execute(`update runs set cancel_request = '{"by":"u","byEmail":"u@example.test","at":"2026-01-01T00:00:00Z","force":true}' where id = ?`, [runId]);
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    await until('the remote sleep to be gone', async () => (processAlive(pid) ? undefined : true), 10_000);
    expect((await eventsOf(runId)).filter((e) => e.type === 'step' && !e.data?.hung).map((e) => e.message)).toEqual(['web2: killed on a force cancel']);
  });

  it('a cancel that found no attempt stops the command a lost attempt left running, and stores what it printed meanwhile', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web2);
    const pidFile = path.join(scratch, `orphan-${runId}`);
    const input = { runId, teamId, host: hostOf(web2, 'web2', id), command: `trap 'echo stopping; exit 3' TERM; sleep 300 & echo $! > ${pidFile}; echo started; wait`, timeoutSeconds: 600, step: 'host-web2' };
    const first = mockEnv(1);
    const lost = call(first, input);
    await until('the command to start', async () => (linesOf(await eventsOf(runId), 'web2').includes('started') ? true : undefined), 20_000);
    first.cancel('TIMED_OUT', new ActivityCancellationDetails({ timedOut: true }));
    await expect(lost).rejects.toThrow(/stopped following/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(processAlive(pid)).toBe(true);

    expect(await stop(input)).toEqual({ running: true });
    expect(processAlive(pid)).toBe(false);
    expect(linesOf(await eventsOf(runId), 'web2')).toEqual(['started', 'stopping']);
    expect((await eventsOf(runId)).filter((e) => e.type === 'step').map((e) => e.message)).toEqual(['web2: stopped on a cancel (exit code 3)']);
    const [launch] = await ctx.db.em.getConnection().execute<{ outcome: string; exit_code: number }[]>('select outcome, exit_code from run_processes where run_id = ?', [runId]);
    expect(launch).toEqual({ outcome: 'exited', exit_code: 3 });
    // Once recorded, stopping again finds nothing to do.
    expect(await stop(input)).toEqual({ running: false });
  });

  it('a cancel that found no attempt never starts a command whose launch was recorded but not begun', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web1);
    const effects = path.join(scratch, `never-${runId}`);
    // The attempt that recorded the launch died before the host created its directory.
    await recordLaunch(ctx.db.em.fork(), { id: crypto.randomUUID(), runId, step: 'host-web1', command: 'ssh', launch: 1, sideEffects: true, hostId: 'h', dir: 'ssh://x' });
    expect(await stop({ runId, teamId, host: hostOf(web1, 'web1', id), command: `echo ran >> ${effects}`, timeoutSeconds: 60, step: 'host-web1' })).toEqual({ running: true });
    expect(existsSync(effects)).toBe(false);
    const [launch] = await ctx.db.em.getConnection().execute<{ outcome: string }[]>('select outcome from run_processes where run_id = ?', [runId]);
    expect(launch!.outcome).toBe('superseded');
    expect((await eventsOf(runId)).map((e) => e.message)).toEqual(['web1: the run was cancelled before the command started there; it did not run']);
  });

  it('a second attempt after the first was lost reattaches: the command runs once, every line stored once', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web1);
    const effects = path.join(scratch, `effects-${runId}`);
    const gate = path.join(scratch, `gate-${runId}`);
    const command = `echo ran >> ${effects}; for i in 1 2 3; do echo line-$i; done; while [ ! -f ${gate} ]; do sleep 0.05; done; for i in 4 5 6; do echo line-$i; done`;
    const input = { runId, teamId, host: hostOf(web1, 'web1', id), command, timeoutSeconds: 600, step: 'host-web1' };
    const first = mockEnv(1);
    const lost = call(first, input);
    await until('the first lines', async () => (linesOf(await eventsOf(runId), 'web1').length === 3 ? true : undefined), 20_000);
    // As when a worker dies: the attempt stops watching, the command goes on.
    first.cancel('TIMED_OUT', new ActivityCancellationDetails({ timedOut: true }));
    await expect(lost).rejects.toThrow(/stopped following/);
    const second = call(mockEnv(2), input);
    execFileSync('touch', [gate]);
    expect(await second).toEqual({ host: 'web1', status: 'succeeded', exitCode: 0 });
    expect(readFileSync(effects, 'utf8')).toBe('ran\n');
    expect(linesOf(await eventsOf(runId), 'web1')).toEqual(['line-1', 'line-2', 'line-3', 'line-4', 'line-5', 'line-6']);
    // A third attempt (the answer was lost, and the files were not removed yet) reads the record and removes them.
    const launches = await ctx.db.em.getConnection().execute<{ id: string }[]>('select id from run_processes where run_id = ?', [runId]);
    const leftover = path.join(os.homedir(), '.opssight', launches[0]!.id);
    mkdirSync(leftover, { recursive: true });
    expect(await call(mockEnv(3), input)).toEqual({ host: 'web1', status: 'succeeded', exitCode: 0 });
    expect(readFileSync(effects, 'utf8')).toBe('ran\n');
    expect(existsSync(leftover)).toBe(false);
  });

  it('an attempt that waited behind a live one takes its recorded ending: the command never starts again', async () => {
    const { runId, teamId } = await newRun();
    const id = await storeSshIntegration(ctx.db.em, keyring(), teamId, web1);
    const effects = path.join(scratch, `effects-${runId}`);
    const gate = path.join(scratch, `gate-${runId}`);
    const command = `echo ran >> ${effects}; echo line-1; while [ ! -f ${gate} ]; do sleep 0.05; done; echo line-2`;
    const input = { runId, teamId, host: hostOf(web1, 'web1', id), command, timeoutSeconds: 600, step: 'host-web1' };
    const first = call(mockEnv(1), input);
    await until('the first line', async () => (linesOf(await eventsOf(runId), 'web1').length === 1 ? true : undefined), 20_000);
    // As when Temporal replaced an attempt that missed a heartbeat but lives on: the replacement waits for the follow lock.
    const replacement = mockEnv(2);
    const waiting = new Promise<void>((resolve) => replacement.on('heartbeat', (d: { launch?: string }) => d?.launch && resolve()));
    const second = call(replacement, input);
    await waiting;
    // The command ends while the replacement waits; the first attempt records it and removes the launch's directory.
    execFileSync('touch', [gate]);
    expect(await first).toEqual({ host: 'web1', status: 'succeeded', exitCode: 0 });
    expect(await second).toEqual({ host: 'web1', status: 'succeeded', exitCode: 0 });
    expect(readFileSync(effects, 'utf8')).toBe('ran\n');
    expect(linesOf(await eventsOf(runId), 'web1')).toEqual(['line-1', 'line-2']);
    const rows = await ctx.db.em.getConnection().execute<{ outcome: string }[]>('select outcome from run_processes where run_id = ?', [runId]);
    expect(rows).toEqual([{ outcome: 'exited' }]);
  });

  it('never stores the private key or its passphrase', async () => {
    const runs = `{${runIds.join(',')}}`;
    const count = async (needle: string) =>
      Number((await ctx.db.em.getConnection().execute<{ n: string }[]>(
        `select count(*) as n from run_events where run_id = any(?::uuid[]) and strpos(message || coalesce(data::text, ''), ?) > 0`,
        [runs, needle],
      ))[0]!.n);
    expect(await count('web1')).toBeGreaterThan(10);
    const keyLines = web1.clientKey.privateKey.split('\n').filter((l) => l.length > 20);
    for (const needle of [PASSPHRASE, ...keyLines]) expect(await count(needle)).toBe(0);
  });
});
