import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { jenkinsHandler, type Controls, type Hold, type Route } from './jenkins/http.ts';
import { Controller, publicBuild, type SimBuild, type SimJobDef } from './jenkins/model.ts';

export type { SimBuild, SimJobDef, SimStage } from './jenkins/model.ts';

export type JenkinsSim = {
  url: string;
  user: string;
  token: string;
  addJob(path: string, def: SimJobDef): void;
  builds(path: string): SimBuild[];
  queued(): Array<{ id: number; job: string; parameters: Record<string, string>; cancelled: boolean }>;
  /** The next build trigger enqueues its item, then holds its HTTP reply until release() (or drop(): destroy the socket without answering). */
  holdNextTriggerReply(): { created: Promise<{ queueId: number }>; release(): void; drop(): void };
  /** The next `times` (default 1) requests to that route answer `status` without effect. */
  failNext(route: Route, status: number, times?: number): void;
  stop(): Promise<void>;
};

/**
 * A SIMULATION of a Jenkins controller's remote access API (as documented at jenkins.io, "Remote Access
 * API", and as Jenkins core and the workflow-job plugin answer) — not a Jenkins. Jenkins cannot run on
 * the machines these tests run on, so the real `jenkins` npm client is pointed at this loopback server.
 *
 * One user with one API token (HTTP Basic): requests without credentials are anonymous and get 403, a
 * wrong token 401 with `WWW-Authenticate: Basic realm="Jenkins"`. Token-authenticated requests need no
 * crumb (Jenkins ≥ 2.96), though `/crumbIssuer/api/json` answers for clients that fetch one anyway.
 *
 * Jobs are Pipeline jobs (WorkflowJob), optionally in folders (`/job/folder/job/deploy/`). A trigger
 * (`build`, `buildWithParameters`) makes a queue item (201, `Location: …/queue/item/<id>/`) which waits
 * out its quiet period (`queueMs`, default `stageMs`), then leaves the queue as a build; a second trigger
 * with the same parameters while the first still waits folds into it (same id), as Jenkins' queue does.
 * The build runs its stages one after another and writes a Pipeline-like console log, served whole
 * (`consoleText`) and progressively (`logText/progressiveText?start=`, `X-Text-Size`, `X-More-Data`).
 */
export async function startJenkinsSim(opts: { stageMs?: number } = {}): Promise<JenkinsSim> {
  const user = 'opssight-ci';
  const token = `11${randomBytes(16).toString('hex')}`; // Jenkins API tokens: 34 hex digits, "11" + 32
  const controls: Controls = { failures: new Map(), holds: [] };
  const sockets = new Set<Socket>();
  const server = http.createServer();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const controller = new Controller(url, user, opts.stageMs ?? 100);
  const handler = jenkinsHandler(controller, { user, token }, controls);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain', 'x-jenkins': '2.479.1' }).end(String(err));
    });
  });

  return {
    url,
    user,
    token,
    addJob(path, def) {
      const clean = path.split('/').filter(Boolean).join('/');
      if (controller.jobs.has(clean)) throw new Error(`job ${clean} already exists`);
      controller.jobs.set(clean, { path: clean, def, builds: [], nextNumber: 1 });
    },
    builds: (path) => (controller.jobs.get(path.split('/').filter(Boolean).join('/'))?.builds ?? []).map(publicBuild),
    queued: () => controller.items.map((i) => ({ id: i.id, job: i.job.path, parameters: { ...i.parameters }, cancelled: i.cancelled })),
    holdNextTriggerReply() {
      let resolveCreated!: (v: { queueId: number }) => void;
      const created = new Promise<{ queueId: number }>((r) => (resolveCreated = r));
      const hold: Hold = { mode: 'hold', onCreated: (queueId) => resolveCreated({ queueId }) };
      controls.holds.push(hold);
      return {
        created,
        release() {
          hold.mode = 'release';
          hold.send?.();
        },
        drop() {
          hold.mode = 'drop';
          hold.res?.socket?.destroy();
        },
      };
    },
    failNext(route, status, times = 1) {
      const list = controls.failures.get(route) ?? [];
      for (let n = 0; n < times; n++) list.push(status);
      controls.failures.set(route, list);
    },
    async stop() {
      controller.clearTimers();
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
