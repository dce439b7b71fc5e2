import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

/**
 * The Docker-compatible engine the deploy tests run against: podman's Docker API on the socket that
 * scripts/services.sh (ensure_podman) serves. Null when that socket is not there, so a machine without
 * podman skips these tests visibly instead of failing them.
 */
export function podmanSocket(): string | null {
  const socket = process.env.TEST_DOCKER_SOCKET;
  return socket && existsSync(socket) ? socket : null;
}

/** The test image: busybox httpd serving `$VERSION` at / and /healthz only while HEALTHY=1 (after HEALTHY_AFTER seconds), on 127.0.0.1:$PORT. */
export const TEST_IMAGE = 'localhost/opssight-test-http';

// EFFECT_URL, when set, is told of every start (a fault test counts them); HEALTHY_AFTER delays /healthz.
const SERVE = `#!/bin/sh
echo "\${VERSION:-unknown}" > /www/index.html
if [ -n "\${EFFECT_URL:-}" ]; then wget -q -O /dev/null "$EFFECT_URL" || true; fi
rm -f /www/healthz
if [ "\${HEALTHY:-1}" = 1 ]; then (sleep "\${HEALTHY_AFTER:-0}"; echo ok > /www/healthz) & fi
exec httpd -f -p "127.0.0.1:\${PORT:-8080}" -h /www
`;

/**
 * Builds the tags the tests deploy, with no registry: `podman import` of a folder holding Debian's
 * static busybox. `v1`…`v3` are healthy, `slow` turns healthy after 4 s, `sick` never passes its health
 * check, `crash` exits at once.
 * Idempotent (skips tags that exist), so test files may call it in parallel runs.
 */
export function buildTestImages(): void {
  const dir = process.env.TEST_PODMAN_DIR!;
  const env = { ...process.env, CONTAINERS_CONF: path.join(dir, 'containers.conf') };
  const podman = (args: string[]) => execFileSync('podman', ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), ...args], { env, stdio: 'pipe' }).toString();
  const have = new Set(podman(['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n'));
  const tags: Array<[string, string[]]> = [
    ['v1', []],
    ['v2', []],
    ['v3', []],
    ['slow', ['ENV HEALTHY_AFTER=4']],
    ['sick', ['ENV HEALTHY=0']],
    ['crash', ['CMD ["/bin/sh", "-c", "echo cannot start: missing config >&2; exit 3"]']],
  ];
  const missing = tags.filter(([tag]) => !have.has(`${TEST_IMAGE}:${tag}`));
  if (missing.length === 0) return;
  const root = mkdtempSync(path.join(os.tmpdir(), 'opssight-img-'));
  try {
    mkdirSync(path.join(root, 'rootfs/bin'), { recursive: true });
    mkdirSync(path.join(root, 'rootfs/www'));
    copyFileSync('/bin/busybox', path.join(root, 'rootfs/bin/busybox'));
    chmodSync(path.join(root, 'rootfs/bin/busybox'), 0o755);
    for (const applet of ['sh', 'echo', 'sleep', 'httpd', 'rm', 'cat', 'wget']) symlinkSync('busybox', path.join(root, 'rootfs/bin', applet));
    writeFileSync(path.join(root, 'rootfs/bin/serve'), SERVE, { mode: 0o755 });
    execFileSync('tar', ['-C', path.join(root, 'rootfs'), '-cf', path.join(root, 'image.tar'), '.']);
    for (const [tag, changes] of missing) {
      // httpd as PID 1 ignores SIGTERM; SIGKILL keeps stops quick (no state to save).
      const base = ['CMD ["/bin/serve"]', 'ENV HEALTHY=1', 'STOPSIGNAL SIGKILL'];
      const all = [...base.filter((b) => !changes.some((c) => c.split(' ')[0] === b.split(' ')[0])), ...changes];
      podman(['import', ...all.flatMap((c) => ['--change', c]), path.join(root, 'image.tar'), `${TEST_IMAGE}:${tag}`]);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export const dockerClient = (socketPath: string) => new Docker({ socketPath });

/** Starts the "live" service container as a user would have: `docker run -d --name NAME -e PORT=… image`. */
export async function runService(docker: Docker, opts: { name: string; tag: string; port: number; env?: Record<string, string> }) {
  const env = { PORT: String(opts.port), VERSION: opts.tag, ...opts.env };
  const container = await docker.createContainer({
    name: opts.name,
    Image: `${TEST_IMAGE}:${opts.tag}`,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { 'opssight.test': 'deploy' },
    HostConfig: { NetworkMode: 'host' },
  });
  await container.start();
  return container;
}

/** Removes every container whose name starts with `prefix` (a test's own). */
export async function removeContainers(docker: Docker, prefix: string): Promise<void> {
  const all = await docker.listContainers({ all: true });
  await Promise.all(
    all
      .filter((c) => c.Names.some((n) => n.replace(/^\//, '').startsWith(prefix)))
      .map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)),
  );
}
