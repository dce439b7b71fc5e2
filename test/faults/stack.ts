import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { initOrm } from '../../db/orm.ts';
import { migrateUp } from '../../db/orm.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startOwnPostgres } from '../peers/own-postgres.ts';
import { startOwnRedis } from '../peers/own-redis.ts';
import { createNamespace } from '../peers/temporal.ts';
import { spawnApiProcess, spawnWorkerProcess, stopProcess } from '../peers/processes.ts';

/**
 * What a person would see destroyed twice: an HTTP server that counts each creation a Terraform
 * provisioner reports (`curl -X POST .../effect/<tag>`). Terraform state keeps one entry per address
 * however often a resource was really created; this counter does not.
 */
export async function startEffectCounter() {
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const tag = decodeURIComponent(req.url?.replace(/^\/effect\//, '') ?? '');
    counts.set(tag, (counts.get(tag) ?? 0) + 1);
    res.end('ok\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    counts,
    /** Any request to `${url}/effect/<tag>` counts one creation of `tag`. */
    url: `http://127.0.0.1:${port}`,
    /** A shell command for a provisioner: reports one creation of `tag`. */
    command: (tag: string) => `curl -fsS -X POST http://127.0.0.1:${port}/effect/${encodeURIComponent(tag)}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

/**
 * A whole platform of its own for a fault test: its own PostgreSQL and (optionally) Redis, which the
 * test may stop; its own Temporal namespace; the API and the workers as separate processes exactly as
 * deployed (`node api/server.ts`, `node workers/main.ts`), which the test may kill -9.
 */
export async function faultStack(opts: { ownRedis?: boolean; env?: Record<string, string> } = {}) {
  const effects = await startEffectCounter();
  const db = await startOwnPostgres();
  const admin = new pg.Client({ connectionString: db.url() });
  await admin.connect();
  await admin.query('create database opssight');
  await admin.end();
  const databaseUrl = db.url('opssight');
  await migrateUp(databaseUrl);
  const redis = opts.ownRedis ? await startOwnRedis() : undefined;
  const namespace = `faults-${crypto.randomUUID().slice(0, 8)}`;
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  await createNamespace(connection, namespace);
  await connection.close();
  const children: ChildProcess[] = [];

  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis?.url ?? process.env.REDIS_URL!,
    REDIS_PREFIX: `opssight-faults:${namespace}:`,
    TEMPORAL_NAMESPACE: namespace,
    HEARTBEAT_TIMEOUT_SECONDS: '2',
    CANCEL_GRACE_MS: '2000',
    LOG_LEVEL: 'info',
    ...opts.env,
  };

  const orm = await initOrm(databaseUrl, { poolMax: 2 });
  const team = await createTeam(orm.em);
  const approver = await createUser(orm.em, { teams: [team], role: 'approver' });
  await orm.close();

  const api = await spawnApiProcess(env);
  children.push(api.child);
  const apiLog = api.output;
  const baseUrl = `http://127.0.0.1:${api.port}`;
  const wsUrl = `ws://127.0.0.1:${api.port}/ws`;

  const call = async (method: string, url: string, token?: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // An internal error in a fault test is a bug or the fault showing through: the API's own account tells which.
    if (res.status === 500) console.warn(`${method} ${url} answered ${res.status}: ${text}; the API's log:\n${apiLog.slice(-20).join('\n')}`);
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
  };
  // The API's own account of a failed first request is what tells a crash from anything else.
  const login = await call('POST', '/api/v1/auth/login', undefined, { email: approver.email, password: approver.password }).catch((err: Error) => {
    throw new Error(`first login failed (${err.message}, ${String(err.cause)}); the API's log:\n${apiLog.slice(-20).join('\n')}`);
  });
  const token = login.body.accessToken as string;

  const workers: Array<{ child: ChildProcess; output: string[] }> = [];
  /** A worker process on host `hostId` (workers sharing a host share its work dir). */
  const workDirs = new Map<string, string>();
  const worker = async (hostId = 'host-a') => {
    if (!workDirs.has(hostId)) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `opssight-faults-${hostId}-`));
      chmodSync(dir, 0o711);
      workDirs.set(hostId, dir);
    }
    const started = await spawnWorkerProcess({ ...env, WORKER_HOST_ID: hostId, WORK_DIR: workDirs.get(hostId)! });
    children.push(started.child);
    workers.push(started);
    return started;
  };
  /** The tail of each worker process still running. */
  const lastWorkerOutput = () =>
    workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).flatMap((w) => [`  worker ${w.child.pid}:`, ...w.output.slice(-10).map((l) => `    ${l}`)]);

  /** Reads the record directly (a fresh connection each time: the server may have been restarted). */
  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  };

  const startRun = async (params: Record<string, unknown>) => {
    const res = await call('POST', '/api/v1/runs', token, { kind: 'terraform', team: team.slug, params });
    if (res.status !== 201) throw new Error(`start answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  const status = async (runId: string) => (await query<{ status: string; error: string | null }>('select status, error from runs where id = $1', [runId]))[0]!;
  const logLines = async (runId: string) =>
    (await query<{ seq: number; message: string }>(`select seq, message from run_events where run_id = $1 and type = 'log' order by seq`, [runId]));

  /** Each run's status and its last events: what a timed-out wait prints, so a CI failure says where a run stood. */
  const explain = async (runIds: string[]) => {
    const lines = await Promise.all(runIds.map(async (runId) => {
      const s = await status(runId).catch((err: Error) => ({ status: `unreadable (${err.message})`, error: null }));
      const last = await query<{ type: string; message: string }>(`select type, message from run_events where run_id = $1 order by seq desc limit 6`, [runId]).catch(() => []);
      return `${runId} ${s.status}${s.error ? ` (${s.error})` : ''}:\n${last.reverse().map((e) => `    ${e.type} ${e.message}`).join('\n')}`;
    }));
    return `${lines.join('\n')}\nthe last worker output:\n${lastWorkerOutput().join('\n')}`;
  };
  /** `until` for runs: a timeout names where each of `runIds` stood. */
  const untilRuns = <T>(runIds: string[], what: string, probe: () => Promise<T | undefined>, timeoutMs?: number, everyMs?: number) =>
    until(what, probe, timeoutMs, everyMs).catch(async (err: Error) => {
      throw new Error(`${err.message}; the runs:\n${await explain(runIds)}`);
    });

  /** Waits until the run's row says it ended (the server may be down meanwhile: failed reads are retried). */
  const ended = (runId: string, timeoutMs = 240_000) =>
    untilRuns([runId], `run ${runId} to end`, async () => {
      const s = await status(runId).catch(() => undefined);
      return s && ['succeeded', 'failed', 'discarded', 'cancelled', 'timed_out'].includes(s.status) ? s : undefined;
    }, timeoutMs, 250);

  const close = async () => {
    for (const child of children.reverse()) await stopProcess(child, 'SIGKILL');
    await redis?.stop();
    await effects.close();
    db.destroy();
  };
  return { db, redis, env, team, token, effects, wsUrl, call, worker, workDirs, query, startRun, status, ended, untilRuns, logLines, apiLog, close };
}
export type FaultStack = Awaited<ReturnType<typeof faultStack>>;

/** A fault stack for the test file, with `workers` worker processes on host-a started. */
export function useFaultStack(opts: { ownRedis?: boolean; workers?: number; env?: Record<string, string> } = {}): () => FaultStack {
  let stack: FaultStack | undefined;
  beforeAll(async () => {
    stack = await faultStack(opts);
    for (let i = 0; i < (opts.workers ?? 0); i++) await stack.worker();
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
  });
  return () => stack!;
}

/** Terraform resources that each report their creation to the effect counter, then take `seconds`. */
export function countedResources(effects: { command: (tag: string) => string }, runTag: string, names: string[], seconds = 2, extra = '') {
  const blocks = names.map(
    (name) => `
resource "terraform_data" "${name}" {
  input = "${name}"
  provisioner "local-exec" {
    command = "${effects.command(`${runTag}/${name}`)} && echo created-${name} && ${extra}sleep ${seconds}"
  }
}`,
  );
  return { 'main.tf': blocks.join('\n') };
}

/**
 * x takes a minute (longer than a worker's shutdown grace), then y, which depends on it; each reports
 * its creation. An apply interrupted during x never makes y.
 */
export const xThenY = (effects: { command: (tag: string) => string }, tag: string) => ({
  'main.tf': `
resource "terraform_data" "x" {
  provisioner "local-exec" {
    command = "${effects.command(`${tag}/x`)} && sleep 60"
  }
}
resource "terraform_data" "y" {
  depends_on = [terraform_data.x]
  provisioner "local-exec" {
    command = "${effects.command(`${tag}/y`)}"
  }
}
`,
});
