/** Ports and readiness checks for the local stack. */
import { Connection } from '@temporalio/client';
import net from 'node:net';

function listenable(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * The port to use: the one the user set (it must be free), else the conventional one when free,
 * else any free port.
 */
export async function pickPort(what: string, explicit: string | undefined, preferred?: number): Promise<number> {
  if (explicit) {
    const port = Number(explicit);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${what}: ${explicit} is not a port`);
    if ((await listenable(port)) === undefined) throw new Error(`${what}: port ${port} is already in use`);
    return port;
  }
  if (preferred && (await listenable(preferred)) !== undefined) return preferred;
  const any = await listenable(0);
  if (any === undefined) throw new Error(`${what}: no free port`);
  return any;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true; throws with the last error after `timeoutMs`. */
export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs / 1000} s${last ? `: ${last}` : ''}`);
    await pause(250);
  }
}

/** The frontend answers and the namespace exists (the dev server registers it at start). */
export async function temporalReady(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

/**
 * `count` workers poll `taskQueue` (pollers seen after `since`, so those of an earlier run that the
 * server still remembers do not count). Bundling the workflows takes a worker a few seconds.
 */
export async function workerPolling(address: string, namespace: string, taskQueue: string, since: Date, count = 1): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    const sinceSeconds = Math.floor(since.getTime() / 1000) - 1;
    return pollers.filter((p) => Number(p.lastAccessTime?.seconds ?? 0) >= sinceSeconds).length >= count;
  } finally {
    await connection.close();
  }
}

/** Liveness: the API answers HTTP on /health (any non-5xx response means the app is serving). */
export async function apiReady(url: string): Promise<boolean> {
  const res = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.status < 500;
}
