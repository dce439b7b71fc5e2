import { isDeepStrictEqual } from 'node:util';
import type Docker from 'dockerode';
import type { ContainerCreateOptions, ContainerInspectInfo, ImageInspectInfo } from 'dockerode';
import type { DeployChange, DeployPlan, DockerTarget, RollbackPoint } from '../../contracts/kinds/deploy.ts';
import { deployFailure } from './failures.ts';
import { probe } from './http-check.ts';

/** Names of the containers of one deploy: the live name stays the service's; the others say what they are. */
export const names = (t: DockerTarget, runId: string) => ({
  live: t.container,
  candidate: `${t.container}--next-${runId.slice(0, 8)}`,
  previous: `${t.container}--previous`,
  failed: `${t.container}--failed-${runId.slice(0, 8)}`,
});
const RUN_LABEL = 'opssight.deploy.run';
/** Between two looks at a starting container (inspect + its health URL): each is a local round trip. */
export const DOCKER_POLL_MS = 250;

export type Beat = (message: string) => void;
type DockerRollback = Extract<RollbackPoint, { platform: 'docker' }>;

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

async function inspectOrNull(docker: Docker, name: string): Promise<ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

async function imageOrNull(docker: Docker, ref: string): Promise<ImageInspectInfo | null> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

const envMap = (list: string[] | undefined) => new Map((list ?? []).map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

/** The port the container serves on: the port variable (host networking) or its first published host port. */
function portOf(t: DockerTarget, info: ContainerInspectInfo): number | null {
  if (t.ports.env) {
    const value = envMap(info.Config.Env).get(t.ports.env);
    return value ? Number(value) : null;
  }
  const bindings = Object.values(info.HostConfig.PortBindings ?? {}) as Array<Array<{ HostPort?: string }> | null>;
  const first = bindings.find((b) => b?.[0]?.HostPort)?.[0]?.HostPort;
  return first ? Number(first) : null;
}

/** The slot the new version takes: whichever of the two the live one does not use. */
const otherSlot = (t: DockerTarget, livePort: number | null) => (livePort === t.ports.slots[0] ? t.ports.slots[1] : t.ports.slots[0]);

async function liveContainer(docker: Docker, t: DockerTarget): Promise<ContainerInspectInfo> {
  const live = await inspectOrNull(docker, t.container);
  if (!live) throw deployFailure(`container ${t.container} not found on the Docker host: a deploy replaces a running container`);
  return live;
}

/** What will change, and what to go back to: read before anything is touched. */
export async function planDocker(docker: Docker, t: DockerTarget): Promise<DeployPlan> {
  const live = await liveContainer(docker, t);
  const port = portOf(t, live);
  const changes: DeployChange[] = [];
  if (live.Config.Image !== t.image) changes.push({ container: t.container, field: 'image', from: live.Config.Image, to: t.image });
  const env = envMap(live.Config.Env);
  for (const [name, value] of Object.entries(t.env)) {
    if (env.get(name) !== value) changes.push({ container: t.container, field: `env.${name}`, from: env.has(name) ? '(set)' : null, to: '(set)' });
  }
  const next = otherSlot(t, port);
  changes.push({ container: t.container, field: 'port', from: port === null ? null : String(port), to: String(next) });
  // startedAt: the old container is stopped by a switch and started again only by a rollback, so a
  // later start tells a retried rollback that it did switch back.
  return { changes, rollbackPoint: { platform: 'docker', container: t.container, containerId: live.Id, image: live.Config.Image, port, startedAt: live.State.StartedAt } };
}

/** `present` is the target image as read already (null: not on the host). */
async function ensureImage(docker: Docker, t: DockerTarget, beat: Beat, present: ImageInspectInfo | null): Promise<void> {
  if (present && t.pull !== 'always') return;
  if (!present && t.pull === 'never') throw deployFailure(`image ${t.image} is not on the Docker host (pull: never)`);
  beat(`pulling ${t.image}`);
  try {
    const stream = await docker.pull(t.image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
  } catch (err) {
    if (present) return; // `always` with a copy at hand: the registry being away is not fatal
    throw deployFailure(`image ${t.image} is not on the Docker host and could not be pulled: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!(await imageOrNull(docker, t.image))) throw deployFailure(`image ${t.image} is not on the Docker host and could not be pulled`);
}

/** Settings the container was given beyond its image's defaults: those carry over to the new image. */
const HOST_CONFIG_KEYS = ['NetworkMode', 'Binds', 'Mounts', 'RestartPolicy', 'Memory', 'NanoCpus', 'CpuShares', 'CapAdd', 'CapDrop', 'ExtraHosts', 'Dns', 'LogConfig', 'Init'] as const;

function candidateOptions(t: DockerTarget, live: ContainerInspectInfo, liveImage: ImageInspectInfo | null, name: string, port: number, runId: string): ContainerCreateOptions {
  const imageEnv = new Set(liveImage?.Config.Env ?? []);
  const env = envMap((live.Config.Env ?? []).filter((e) => !imageEnv.has(e)));
  for (const [k, v] of Object.entries(t.env)) env.set(k, v);
  if (t.ports.env) env.set(t.ports.env, String(port));
  const own = <T>(value: T, imageValue: T) => (isDeepStrictEqual(value, imageValue) ? undefined : value);
  const imageLabels = liveImage?.Config.Labels ?? {};
  const labels = Object.fromEntries(Object.entries(live.Config.Labels ?? {}).filter(([k, v]) => imageLabels[k] !== v && !k.startsWith('io.podman')));
  const hostConfig: Record<string, unknown> = {};
  for (const key of HOST_CONFIG_KEYS) {
    const value = (live.HostConfig as Record<string, unknown>)[key];
    if (value !== undefined && value !== null && value !== '') hostConfig[key] = value;
  }
  if (!t.ports.env) {
    const bindings = structuredClone(live.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp?: string; HostPort: string }>>;
    const first = Object.keys(bindings).find((k) => bindings[k]?.[0]?.HostPort);
    if (first) bindings[first] = [{ ...bindings[first]![0], HostPort: String(port) }];
    hostConfig.PortBindings = bindings;
  }
  return {
    name,
    Image: t.image,
    Env: [...env].map(([k, v]) => `${k}=${v}`),
    Cmd: own(live.Config.Cmd, liveImage?.Config.Cmd),
    Entrypoint: own(live.Config.Entrypoint, liveImage?.Config.Entrypoint),
    WorkingDir: own(live.Config.WorkingDir, liveImage?.Config.WorkingDir) || undefined,
    User: own(live.Config.User, liveImage?.Config.User) || undefined,
    ExposedPorts: live.Config.ExposedPorts,
    Labels: { ...labels, [RUN_LABEL]: runId },
    HostConfig: hostConfig,
  } as ContainerCreateOptions;
}

const PORT_TAKEN = /address already in use|port is already allocated|bind:/i;

/** The text of a non-TTY log stream: frames of an 8-byte header (stream, size) and their payload. */
function demux(buf: Buffer): string {
  const parts: string[] = [];
  let at = 0;
  while (at + 8 <= buf.length && buf[at]! <= 2 && buf[at + 1] === 0) {
    const size = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, at + 8 + size).toString('utf8'));
    at += 8 + size;
  }
  return at === 0 ? buf.toString('utf8') : parts.join('');
}

async function logsTail(docker: Docker, name: string): Promise<string> {
  try {
    const buf = (await docker.getContainer(name).logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
    return demux(buf).trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '';
  }
}

/** Waits until the candidate answers its health check (and Docker's HEALTHCHECK, when the image has one, says healthy). */
async function waitHealthy(docker: Docker, t: DockerTarget, name: string, port: number, beat: Beat, signal: AbortSignal, pollMs: number): Promise<void> {
  const url = t.health.url.replaceAll('{port}', String(port));
  const deadline = Date.now() + t.health.timeoutSeconds * 1000;
  let last: string;
  // Looks start every pollMs, not pollMs after the last one ended: the look's own time would
  // otherwise push every later one back, and the switch with it.
  let nextLook = performance.now();
  for (;;) {
    signal.throwIfAborted();
    nextLook += pollMs;
    const [info, result] = await Promise.all([docker.getContainer(name).inspect(), probe(url, t.health.expectStatus, 2_000, signal)]);
    if (!info.State.Running) {
      const logs = await logsTail(docker, name);
      if (PORT_TAKEN.test(logs)) throw deployFailure(`port ${port} is taken on the Docker host: the new container could not listen (${logs})`);
      throw deployFailure(`the new container exited with code ${info.State.ExitCode} right after starting${logs ? `: ${logs}` : ''}`);
    }
    const dockerHealth = (info.State as { Health?: { Status?: string } }).Health?.Status;
    if (result.ok && (!dockerHealth || dockerHealth === 'healthy')) {
      // The answer must have come from this container: it still runs after answering.
      if ((await docker.getContainer(name).inspect()).State.Running) return;
      continue;
    }
    last = dockerHealth && dockerHealth !== 'healthy' ? `HEALTHCHECK says ${dockerHealth}` : result.detail;
    if (Date.now() > deadline) throw deployFailure(`the new container did not become healthy within ${t.health.timeoutSeconds}s: ${last}`);
    beat(`waiting for ${url}: ${last}`);
    await new Promise((r) => setTimeout(r, Math.max(0, nextLook - performance.now())));
  }
}

/**
 * Starts the new version beside the live container (same settings, new name, the other port slot),
 * waits for its health check, then switches: the live one becomes `<name>--previous` (stopped, kept
 * for rollback) and the new one takes the name. A step repeated after a worker died picks up from what
 * the Docker host shows: a finished switch is not redone, a half-made candidate is made again.
 * On failure before the switch the candidate is removed and the live container was never touched.
 */
export async function rolloutDocker(docker: Docker, t: DockerTarget, runId: string, point: DockerRollback, beat: Beat, signal: AbortSignal, pollMs = DOCKER_POLL_MS) {
  const n = names(t, runId);
  // Independent reads, asked together: each is a round trip to the Docker host on the run's critical
  // path. The live image is read by the reference the plan saw; the container's image id says below
  // whether that is still the one it runs.
  const [current, stale, target, planned] = await Promise.all([inspectOrNull(docker, n.live), inspectOrNull(docker, n.candidate), imageOrNull(docker, t.image), imageOrNull(docker, point.image).catch(() => null)]);
  if (current?.Config.Labels?.[RUN_LABEL] === runId) {
    await stopQuietly(docker, n.previous, t.stopTimeoutSeconds);
    return { image: t.image, port: portOf(t, current) };
  }
  if (!current) {
    // The previous attempt died between the two renames: finish them.
    if (!stale) throw deployFailure(`container ${n.live} disappeared during the deploy; ${n.previous} holds the previous version`);
    await docker.getContainer(n.candidate).rename({ name: n.live });
    await stopQuietly(docker, n.previous, t.stopTimeoutSeconds);
    return { image: t.image, port: portOf(t, stale) };
  }
  const port = otherSlot(t, point.port);
  const [, liveImage] = await Promise.all([ensureImage(docker, t, beat, target), planned?.Id === current.Image ? planned : imageOrNull(docker, current.Image)]);
  if (stale && !stale.State.Running) await docker.getContainer(n.candidate).remove({ force: true });
  try {
    if (!stale?.State.Running) {
      // Something else answering on the slot would pass the health check in the new container's place.
      const squatter = await probe(t.health.url.replaceAll('{port}', String(port)), 200, 1_000, signal);
      if (!/ECONNREFUSED/.test(squatter.detail)) throw deployFailure(`port ${port} is taken on the Docker host: something already answers there (${squatter.detail})`);
      await docker.createContainer(candidateOptions(t, current, liveImage, n.candidate, port, runId));
      beat(`starting ${n.candidate} (${t.image}) on port ${port}`);
      try {
        await docker.getContainer(n.candidate).start();
      } catch (err) {
        const message = (err as Error).message;
        if (PORT_TAKEN.test(message)) throw deployFailure(`port ${port} is taken on the Docker host: ${message.split('\n')[0]}`);
        throw deployFailure(`the new container could not start: ${message.split('\n')[0]}`);
      }
    }
    await waitHealthy(docker, t, n.candidate, port, beat, signal, pollMs);
  } catch (err) {
    await docker.getContainer(n.candidate).remove({ force: true }).catch(() => undefined);
    throw err;
  }
  beat(`switching ${n.live} to ${t.image}`);
  await removeIfPresent(docker, n.previous);
  await docker.getContainer(n.live).rename({ name: n.previous });
  await docker.getContainer(n.candidate).rename({ name: n.live });
  await stopQuietly(docker, n.previous, t.stopTimeoutSeconds);
  return { image: t.image, port };
}

/** Stops a container if it runs: one call, since Docker answers 304 for a stopped one and 404 for none. */
async function stopQuietly(docker: Docker, name: string, seconds: number) {
  await docker
    .getContainer(name)
    .stop({ t: seconds })
    .catch((err) => (statusOf(err) === 304 || statusOf(err) === 404 ? undefined : Promise.reject(err)));
}

async function removeIfPresent(docker: Docker, name: string) {
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch((err) => (statusOf(err) === 404 ? undefined : Promise.reject(err)));
}

/**
 * Puts the recorded previous version back after a switch (verification failed, or the run was
 * cancelled): `<name>--previous` is started and waits for its health check before it takes the name
 * again; the new one is removed. Before a switch there is nothing to undo (rolloutDocker cleaned up).
 * Repeated after a worker died at any point, it finishes what is left: the new version is renamed
 * `<name>--failed-<run>` before the previous one takes the name and is removed only after that, so a
 * retry that finds it knows this rollback switched, and never leaves it running.
 */
export async function rollbackDocker(docker: Docker, t: DockerTarget, runId: string, point: DockerRollback, beat: Beat, signal: AbortSignal, pollMs = DOCKER_POLL_MS) {
  const n = names(t, runId);
  await docker.getContainer(n.candidate).remove({ force: true }).catch(() => undefined);
  const current = await inspectOrNull(docker, n.live);
  if (current && current.Config.Labels?.[RUN_LABEL] !== runId) {
    // Nothing was switched; or an earlier attempt put the previous version back (and died before
    // removing the new one, or before it could answer).
    const failed = await inspectOrNull(docker, n.failed);
    if (failed) await removeIfPresent(docker, n.failed);
    const restarted = current.Id === point.containerId && point.startedAt !== undefined && current.State.StartedAt !== point.startedAt;
    return { image: current.Config.Image, changed: failed !== null || restarted };
  }
  const previous = await inspectOrNull(docker, n.previous);
  if (!previous) throw deployFailure(`cannot roll back: ${n.previous} (${point.image}) is gone from the Docker host`);
  if (!previous.State.Running) await docker.getContainer(n.previous).start();
  const port = point.port ?? portOf(t, previous) ?? t.ports.slots[0];
  beat(`rolling back to ${point.image}`);
  await waitHealthy(docker, { ...t, image: point.image }, n.previous, port, beat, signal, pollMs);
  if (current) await docker.getContainer(n.live).rename({ name: n.failed });
  await docker.getContainer(n.previous).rename({ name: n.live });
  await removeIfPresent(docker, n.failed);
  return { image: point.image, changed: true };
}
