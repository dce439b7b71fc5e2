import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { temporalSqliteArgs } from '../../scripts/up/temporal-sqlite.ts';

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `n` ports free now, all different: each is held until all are chosen (two freePort() calls in a
 * row can hand out the same port, as the kernel may give a closed one out again at once).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => net.createServer().unref());
  try {
    return await Promise.all(
      servers.map(
        (srv) =>
          new Promise<number>((resolve, reject) => {
            srv.once('error', reject);
            srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((srv) => new Promise((resolve) => (srv.listening ? srv.close(resolve) : resolve(undefined)))));
  }
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
 *
 * A port can be briefly unbindable while nothing listens on it: any outgoing connection on the machine
 * may have been given it as its local port (it is in the ephemeral range). The dev server then panics
 * at start (a nil gRPC listener), as it did once in CI restarting after an outage test. So a server
 * that exits before it listens is started again: on the same port after a pause when it must keep its
 * address, on another port otherwise.
 */
export async function startTemporalDevServer(
  bin: string,
  again: { port: number; dir: string } | undefined = undefined,
): Promise<{ address: string; pid: number; port: number; dir: string; stop: () => Promise<void> }> {
  const dir = again?.dir ?? mkdtempSync(path.join(os.tmpdir(), 'opssight-temporal-'));
  const failures: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const port = again?.port ?? (await freePort());
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
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    try {
      await waitForPort(port, 30_000, child);
    } catch (err) {
      if (child.exitCode === null) child.kill('SIGKILL');
      failures.push(`${(err as Error).message}: ${stderr.split('\n').slice(0, 3).join(' | ')}`);
      if (attempt >= 4) throw new Error(`the Temporal dev server did not start:\n${failures.join('\n')}`, { cause: err });
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    // A panic later still reaches the test's output; the pipe does not keep this process alive.
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    (child.stderr as net.Socket).unref();
    const stop = async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    };
    return { address: `127.0.0.1:${port}`, pid: child.pid!, port, dir, stop };
  }
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
