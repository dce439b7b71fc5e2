import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { temporalSqliteArgs } from '../../scripts/up/temporal-sqlite.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The Temporal CLI dev server (SQLite in a temp dir), the real frontend the SDK talks to. Given the
 * `port` and `dir` of one that was stopped, it starts that server again, with its state.
 */
export async function startTemporalDevServer(
  bin: string,
  again: { port: number; dir: string } | undefined = undefined,
): Promise<{ address: string; pid: number; port: number; dir: string; stop: () => Promise<void> }> {
  const port = again?.port ?? (await freePort());
  const dir = again?.dir ?? mkdtempSync(path.join(os.tmpdir(), 'opssight-temporal-'));
  const child = spawn(
    bin,
    [
      'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port),
      '--db-filename', path.join(dir, 'temporal.db'),
      ...temporalSqliteArgs(),
      // Worker shutdowns make the dev server log harmless errors ("task queue closed"); ask for them when debugging.
      '--log-level', process.env.TEMPORAL_SERVER_LOG_LEVEL ?? 'never',
      '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  await waitForPort(port, 30_000, child);
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { address: `127.0.0.1:${port}`, pid: child.pid!, port, dir, stop };
}

/** A namespace of its own, so no other test file's worker can pick up this test's tasks. */
export async function createNamespace(connection: Connection, namespace: string): Promise<void> {
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      // Registration propagates to the frontend's cache asynchronously; a list call proves it is usable.
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * A fresh namespace on the dev server global-setup started, for a test file whose workflows must stay
 * queued (no worker polls it) or must not be picked up by another file's worker.
 */
export async function ownNamespace(prefix: string): Promise<string> {
  const namespace = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    await createNamespace(connection, namespace);
  } finally {
    await connection.close();
  }
  return namespace;
}
