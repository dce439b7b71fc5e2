// Docker deploy overhead: a deploy run through the platform (POST /api/v1/runs → worker → diff →
// start beside → healthy → switched → succeeded) against the same steps done by hand with dockerode
// (inspect, create, start, poll the health URL, rename, rename, stop), alternating, in the same run,
// on podman's Docker API. A request loop (a process of its own) runs throughout through a two-slot
// "load balancer": failed requests are those no slot answered. Two services: one healthy as soon as it
// starts (the platform's fixed cost is then most of the ratio) and one that answers its health check
// 2 s after it starts, as a small web service does. A rolled-back deploy (an image that never gets
// healthy) runs with a loop on the old container directly. Needs `ensure_podman` (scripts/services.sh). Run: node bench/deploy-docker.ts
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { keyringFromConfig } from '../core/secrets/keyring.ts';
import { loadConfig } from '../core/config.ts';
import { storeIntegration } from '../test/fixtures/deploy-integrations.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { buildTestImages, dockerClient, removeContainers, runService, TEST_IMAGE } from '../test/peers/podman.ts';
import { freePorts } from '../test/peers/temporal.ts';
import { startTestWorker } from '../test/peers/worker.ts';
import { startBenchStack } from './peers.ts';
import { fmt, percentile, table } from './stats.ts';

const ROUNDS = Number(process.env.BENCH_DEPLOY_ROUNDS ?? 5);
/** A second service that answers its health check this long after it starts, as a small web service does. */
const READY_AFTER_S = Number(process.env.BENCH_DEPLOY_READY_AFTER_S ?? 2);
const socket = process.env.TEST_DOCKER_SOCKET ?? '/tmp/opssight-podman/podman.sock';
if (!existsSync(socket)) {
  console.log(`deploy (Docker): skipped — no Docker API socket at ${socket} (source scripts/services.sh; ensure_podman)`);
  process.exit(0);
}
process.env.TEST_PODMAN_DIR ??= socket.replace(/\/podman\.sock$/, '');
buildTestImages();

/**
 * Requests back to back through the slots (bench/servers/balanced-load.ts, a process of its own): a
 * request fails only when no slot answers 200.
 */
async function balancedLoad(slots: number[]) {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'servers/balanced-load.ts'), ...slots.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'ready') throw new Error('the load loop did not start');
  return {
    stop: async (): Promise<{ ok: number; failed: number }> => {
      child.kill('SIGTERM');
      return JSON.parse((await lines.next()).value as string) as { ok: number; failed: number };
    },
  };
}

// The client polls a run every 5 ms: far above a person's rate limit.
const stack = await startBenchStack({ RATE_LIMIT_API_PER_MINUTE: '1000000' });
const docker = dockerClient(socket);
const prefix = `bench-${crypto.randomUUID().slice(0, 6)}`;
const worker = await startTestWorker({ ...stack.env, HEARTBEAT_TIMEOUT_SECONDS: '5' });
try {
  const { api } = stack;
  const team = await createTeam(api.deps.db.em);
  const operator = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  const { accessToken: token } = await api.deps.sessions.start(api.deps.db.em.fork(), operator.id);
  const integration = await storeIntegration(api.deps.db.em, keyringFromConfig(loadConfig({ ...process.env, ...stack.env })), team.id, 'docker', { endpoint: `unix://${socket}` });

  const name = `${prefix}-svc`;
  const slots = await freePorts(2);
  await runService(docker, { name, tag: 'v1', port: slots[0]! });
  const healthy = async (port: number) => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
  while (!(await healthy(slots[0]!))) await new Promise((r) => setTimeout(r, 50));
  let tagIndex = 0;
  /** Where a run's time goes, from its stored events: queued → running, the container start → switch, and everything else. */
  const phases: Array<{ toRunning: number; swap: number; bookkeeping: number }> = [];
  let lastTimeline: string[] = [];
  const nextTag = () => ['v2', 'v3', 'v1'][tagIndex++ % 3]!;

  const viaPlatform = async (tag: string, readyAfterS = 0) => {
    const started = performance.now();
    const res = await fetch(`${api.baseUrl}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        kind: 'deploy',
        team: team.slug,
        params: {
          target: { platform: 'docker', integration, container: name, image: `${TEST_IMAGE}:${tag}`, env: { VERSION: tag, HEALTHY_AFTER: String(readyAfterS) }, pull: 'never', ports: { env: 'PORT', slots }, health: { url: 'http://127.0.0.1:{port}/healthz', timeoutSeconds: 30 }, stopTimeoutSeconds: 1 },
        },
      }),
    });
    const { id } = (await res.json()) as { id: string };
    if (res.status !== 201) throw new Error(`POST /api/v1/runs answered ${res.status}`);
    for (;;) {
      const polled = await fetch(`${api.baseUrl}/api/v1/runs/${id}?fields=status,error`, { headers: { authorization: `Bearer ${token}` } });
      if (!polled.ok) throw new Error(`GET /api/v1/runs/${id} answered ${polled.status}`);
      const run = (await polled.json()) as { status: string; error: string | null };
      if (run.status === 'succeeded') {
        const total = performance.now() - started;
        const ev = (await (await fetch(`${api.baseUrl}/api/v1/runs/${id}/events`, { headers: { authorization: `Bearer ${token}` } })).json()) as { events: Array<{ ts: string; message: string }> };
        const at = (re: RegExp) => Date.parse(ev.events.find((e) => re.test(e.message))!.ts);
        phases.push({ toRunning: at(/^running$/) - at(/^queued/), swap: at(/^switching/) - at(/^starting/), bookkeeping: total - (at(/^switching/) - at(/^starting/)) });
        // The last run's events with their offsets: where the rest goes, step by step.
        const t0 = started + performance.timeOrigin;
        lastTimeline = ev.events.map((e) => `+${Math.round(Date.parse(e.ts) - t0)} ms ${e.message.slice(0, 70)}`);
        lastTimeline.push(`+${Math.round(total)} ms succeeded seen by the client`);
        return total;
      }
      if (['failed', 'cancelled', 'timed_out'].includes(run.status)) throw new Error(`deploy run ${run.status}: ${run.error}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  /** The same steps by hand: what a deploy script written against the Docker API does. */
  const byHand = async (tag: string, readyAfterS = 0) => {
    const started = performance.now();
    const live = await docker.getContainer(name).inspect();
    const port = live.Config.Env.includes(`PORT=${slots[0]}`) ? slots[1]! : slots[0]!;
    const candidate = `${name}--hand`;
    await docker.createContainer({ name: candidate, Image: `${TEST_IMAGE}:${tag}`, Env: [`PORT=${port}`, `VERSION=${tag}`, `HEALTHY_AFTER=${readyAfterS}`], Labels: { 'opssight.test': 'deploy' }, HostConfig: { NetworkMode: 'host' } });
    await docker.getContainer(candidate).start();
    while (!(await healthy(port))) await new Promise((r) => setTimeout(r, 250));
    await docker.getContainer(`${name}--previous`).remove({ force: true }).catch(() => undefined);
    await docker.getContainer(name).rename({ name: `${name}--previous` });
    await docker.getContainer(candidate).rename({ name });
    await docker.getContainer(`${name}--previous`).stop({ t: 1 });
    return performance.now() - started;
  };

  await viaPlatform(nextTag()); // warm-up: the workflow bundle, connections, the image cache
  await byHand(nextTag());
  phases.splice(0, 1); // the warm-up's
  /** Swaps by both paths, alternating, for a service that answers its health check readyAfterS after it starts. */
  const measure = async (readyAfterS: number) => {
    const times = { platform: [] as number[], hand: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const side of i % 2 ? (['hand', 'platform'] as const) : (['platform', 'hand'] as const)) {
        times[side].push(side === 'platform' ? await viaPlatform(nextTag(), readyAfterS) : await byHand(nextTag(), readyAfterS));
      }
    }
    return times;
  };
  const load = await balancedLoad(slots);
  const instant = await measure(0);
  const instantPhases = phases.splice(0);
  const instantTimeline = lastTimeline;
  const typical = await measure(READY_AFTER_S);
  const during = await load.stop();

  // A deploy that never gets healthy: the old container is loaded directly, it must never miss.
  const livePort = (await docker.getContainer(name).inspect()).Config.Env.includes(`PORT=${slots[0]}`) ? slots[0]! : slots[1]!;
  const direct = await balancedLoad([livePort]);
  let rolledBack = '';
  await viaPlatform('sick').catch((err: Error) => (rolledBack = err.message));
  const sick = await direct.stop();

  const median = (xs: number[]) => percentile(Float64Array.from(xs).sort(), 50);
  const rows = (label: string, times: { platform: number[]; hand: number[] }, goal: string) => {
    const p = median(times.platform);
    const h = median(times.hand);
    return [
      [`${label}: by hand with dockerode`, fmt(h, 0), fmt(Math.min(...times.hand), 0), fmt(Math.max(...times.hand), 0)],
      [`${label}: deploy run via the API`, fmt(p, 0), fmt(Math.min(...times.platform), 0), fmt(Math.max(...times.platform), 0)],
      [`${label}: ratio run ÷ by hand${goal}`, `${fmt(p / h, 2)}×`, `+${fmt(p - h, 0)} ms`, ''],
    ];
  };
  console.log(`deploy (Docker host, podman's Docker API): ${ROUNDS} swaps per side and service, alternating; start → healthy → switched`);
  console.log(
    table([
      ['service', 'median ms', 'min ms', 'max ms'],
      // A swap of a service that is healthy the instant it starts is nearly all fixed cost (Temporal's
      // round trips, the records): it measures that cost. The goal is judged on a service that takes
      // the time a small web service takes to come up.
      ...rows('ready at once', instant, ' (the fixed cost)'),
      ...rows(`ready ${READY_AFTER_S} s after start`, typical, ' (goal ≤ 1.2×)'),
    ]),
  );
  const ph = instantPhases;
  console.log(`\nwhere a deploy run's time goes (ready at once; medians, ms): queued → running ${fmt(median(ph.map((x) => x.toRunning)), 0)}; new container started → switched ${fmt(median(ph.map((x) => x.swap)), 0)}; all the rest (API, Temporal round trips, recording each step) ${fmt(median(ph.map((x) => x.bookkeeping)), 0)}`);
  console.log(`\nthe last deploy run of the ready-at-once service, from POST /api/v1/runs:\n  ${instantTimeline.join('\n  ')}\n`);
  console.log(
    table([
      ['request loop', 'requests served', 'failed'],
      [`${4 * ROUNDS} successful swaps (both slots)`, String(during.ok), String(during.failed)],
      ['a rolled-back deploy (old container)', String(sick.ok), String(sick.failed)],
    ]),
  );
  if (!/did not become healthy/.test(rolledBack)) throw new Error(`the sick deploy should have failed its health check: ${rolledBack || 'it succeeded'}`);
} finally {
  await worker.shutdown();
  await removeContainers(docker, prefix);
  await stack.stop();
}
process.exit(0);
