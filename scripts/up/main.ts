/**
 * The local stack behind `bash scripts/up.sh` (which bootstraps Node and the tools, then runs this):
 * PostgreSQL (DATABASE_URL, else embedded), Redis (REDIS_URL, else a local redis-server with nothing
 * on disk), Temporal (TEMPORAL_ADDRESS, else the CLI dev server), migrations, the first admin,
 * WORKERS workers (default 2), the API, and a mail catcher (maildev; not when SMTP_URL is set, which
 * says mail goes to a real server) so escalation email can be read in a browser. Once up, a process that dies is restarted with backoff
 * (supervisor.ts); only a database or Temporal that cannot be brought back stops the stack, and then
 * this exits 1 naming it. Ctrl-C or SIGTERM stops what it started, in reverse order.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { TASK_QUEUES } from '../../contracts/temporal.ts';
import { ensureAdmin } from '../create-admin.ts';
import { apiReady, pickPort, temporalReady, waitUntil, workerPolling } from './net.ts';
import { clearPreviousRun, dataDir, persistentSecret } from './state.ts';
import { ChildDiedError, Supervisor } from './supervisor.ts';
import { temporalSqliteArgs } from './temporal-sqlite.ts';
import { WORKER_NODE_FLAGS } from '../../workers/node-flags.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const env = process.env;
const say = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`up: ${line}\n`);
const rel = (p: string) => (path.relative(process.cwd(), p).startsWith('..') ? p : path.relative(process.cwd(), p) || '.');

const data = (() => {
  const dir = path.resolve(env.OPSSIGHT_DATA_DIR || path.join(ROOT, '.data'));
  try {
    return dataDir(dir);
  } catch (err) {
    warn(`cannot use ${dir} as the data directory: ${(err as Error).message}`);
    process.exit(1);
  }
})();
const sup = new Supervisor(data.logs, data.pidFile, (line) => process.stderr.write(`${line}\n`));
const node = process.execPath;

// --- Ctrl-C / SIGTERM: stop in order; a second signal kills at once.
let shuttingDown = false;
async function shutdown(code: number, reason?: string, logPath?: string): Promise<never> {
  if (reason) warn(reason);
  if (logPath && existsSync(logPath)) {
    const tail = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-15);
    warn(`last lines of ${rel(logPath)}:\n${tail.map((l) => `    ${l}`).join('\n')}`);
  }
  say(code === 0 ? 'stopping OpsSight...' : 'stopping what was started...');
  await sup.stopAll();
  say(code === 0 ? 'stopped' : `stopped; exit ${code}`);
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (shuttingDown) {
      sup.killAll();
      process.exit(130);
    }
    shuttingDown = true;
    void shutdown(0);
  });
}

/** Waits for `ready`, unless a child dies first. */
async function untilReady<T>(ready: Promise<T>): Promise<T> {
  return Promise.race([ready, sup.fatal.then((died) => Promise.reject(died))]);
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function startPostgres(): Promise<string> {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  // An explicit port must be free now; otherwise the helper picks one right before binding it.
  const requested = env.OPSSIGHT_POSTGRES_PORT ? await pickPort('OPSSIGHT_POSTGRES_PORT', env.OPSSIGHT_POSTGRES_PORT) : 0;
  const password = persistentSecret(data.postgresPassword, 24);
  // As root, PostgreSQL runs as the `postgres` user, which must be able to reach its data directory.
  if (process.getuid?.() === 0) chmodSync(data.root, 0o711);
  let ready!: (port: number) => void;
  let refused!: (err: Error) => void;
  const isReady = new Promise<number>((resolve, reject) => ((ready = resolve), (refused = reject)));
  const spec = {
    name: 'postgres',
    command: node,
    args: [path.join(ROOT, 'scripts/up/embedded-postgres.ts'), data.postgres, String(requested), data.postgresPassword, 'opssight'],
    // The helper's own exit hook stops the server (fast shutdown), so signal the helper alone.
    signalGroup: false,
    stopTimeoutMs: 30_000,
    critical: true,
  };
  const child = sup.start(spec, (line) => {
    const m = /^ready (\d+)$/.exec(line);
    if (m) ready(Number(m[1]));
    // Root, and the postgres user cannot reach the checkout: the helper says what to do instead.
    if (line.startsWith('unreachable ')) refused(new Error(`embedded PostgreSQL cannot run here: ${line.slice('unreachable '.length)}`));
  });
  const port = await untilReady(isReady);
  // A restart must come back on the same port: the API and workers hold this URL.
  spec.args[2] = String(port);
  const where = lstatSync(data.postgres).isSymbolicLink() ? `${rel(data.postgres)} -> ${realpathSync(data.postgres)}` : rel(data.postgres);
  say(`  postgres   embedded, 127.0.0.1:${port}, data ${where} (pid ${child.pid})`);
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/opssight`;
}

async function startRedis(): Promise<string> {
  if (env.REDIS_URL) return env.REDIS_URL;
  const port = await pickPort('OPSSIGHT_REDIS_PORT', env.OPSSIGHT_REDIS_PORT);
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const child = sup.start(
    {
      name: 'redis',
      command: 'redis-server',
      // Nothing on disk: no RDB snapshots, no AOF; --dir only names where it would write.
      args: ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', data.root],
      critical: true,
    },
    (line) => line.includes('Ready to accept connections') && ready(),
  );
  say(`  redis      redis-server, 127.0.0.1:${port}, in memory only (pid ${child.pid})`);
  await untilReady(isReady);
  return `redis://127.0.0.1:${port}/0`;
}

async function startTemporal(namespace: string): Promise<{ address: string; ui?: string }> {
  if (env.TEMPORAL_ADDRESS) return { address: env.TEMPORAL_ADDRESS };
  const port = await pickPort('TEMPORAL_PORT', env.TEMPORAL_PORT, 7233);
  const uiPort = await pickPort('TEMPORAL_UI_PORT', env.TEMPORAL_UI_PORT, port + 1000);
  const bin = env.TEMPORAL_BIN || path.join(ROOT, '.tools/bin/temporal');
  const child = sup.start({
    name: 'temporal',
    command: bin,
    args: [
      'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort),
      '--db-filename', data.temporalDb, ...temporalSqliteArgs(), '--log-level', 'warn',
      '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
      ...(namespace === 'default' ? [] : ['--namespace', namespace]),
    ],
    critical: true,
  });
  const address = `127.0.0.1:${port}`;
  say(`  temporal   dev server, ${address}, data ${rel(data.temporalDb)} (pid ${child.pid})`);
  await untilReady(waitUntil('Temporal', 60_000, () => temporalReady(address, namespace)));
  return { address, ui: `http://127.0.0.1:${uiPort}` };
}

/**
 * maildev (npm): an SMTP server that keeps what it receives and a web UI to read it, so escalation
 * email sent through an `smtp` integration pointed at it can be seen. Mail is kept in the data dir.
 */
async function startMailCatcher(): Promise<{ smtp: string; ui: string; ready: Promise<void> } | undefined> {
  if (env.SMTP_URL) return undefined;
  const smtpPort = await pickPort('MAILDEV_SMTP_PORT', env.MAILDEV_SMTP_PORT, 1025);
  const webPort = await pickPort('MAILDEV_WEB_PORT', env.MAILDEV_WEB_PORT, 1080);
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const child = sup.start(
    {
      name: 'maildev',
      command: node,
      args: [path.join(ROOT, 'node_modules/maildev/dist/bin/maildev.js'), '--ip', '127.0.0.1', '--smtp', String(smtpPort), '--web-ip', '127.0.0.1', '--web', String(webPort), '--mail-directory', path.join(data.root, 'mail')],
    },
    // Printed once both its SMTP server and its web UI listen.
    (line) => line.includes('Press Ctrl+C to stop') && ready(),
  );
  const ui = `http://127.0.0.1:${webPort}`;
  say(`  maildev    SMTP 127.0.0.1:${smtpPort}, web UI ${ui} (pid ${child.pid})`);
  // Not awaited here: it takes seconds to load and nothing else needs it until the end.
  return { smtp: `127.0.0.1:${smtpPort}`, ui, ready: isReady };
}

/** Newest modification time of any file under `dir` (0 when it does not exist). */
function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((max, e) => Math.max(max, statSync(path.join(e.parentPath, e.name)).mtimeMs), 0);
}

/** The API serves the dashboard from web/dist: build it when missing or older than its sources. */
async function buildDashboard(): Promise<void> {
  const built = path.join(ROOT, 'web/dist/index.html');
  const sources = Math.max(newest(path.join(ROOT, 'web/src')), newest(path.join(ROOT, 'contracts')), statSync(path.join(ROOT, 'web/index.html')).mtimeMs);
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  say('  dashboard  building web/dist');
  await sup.run({ name: 'build-web', command: 'npm', args: ['run', '--silent', 'build:web'], cwd: ROOT });
}

async function main(): Promise<void> {
  const workers = Number(env.WORKERS || 2);
  if (!Number.isInteger(workers) || workers < 1 || workers > 32) throw new Error(`WORKERS: ${env.WORKERS} is not a number of workers (1 to 32)`);
  clearPreviousRun(data.pidFile, (line) => say(`  ${line}`));
  if (!env.REDIS_URL && !hasCommand('redis-server')) {
    throw new Error('REDIS_URL is not set and redis-server is not installed: apt-get install redis-server (or set REDIS_URL)');
  }
  say(`OpsSight: starting (data ${rel(data.root)}, logs ${rel(data.logs)}/*.log)`);
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  const databaseUrl = await startPostgres();
  const redisUrl = await startRedis();
  const temporal = await startTemporal(namespace);
  const mail = await startMailCatcher();

  const apiHost = env.API_HOST || '127.0.0.1';
  const apiPort = await pickPort('API_PORT', env.API_PORT, 8080);
  const apiUrl = `http://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${apiPort}`;
  mkdirSync(data.work, { recursive: true });
  const appEnv: NodeJS.ProcessEnv = {
    ...env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: namespace,
    JWT_SECRET: env.JWT_SECRET || persistentSecret(data.jwtSecret),
    // 32 bytes: the AES-256 key of integration secrets. Losing this file loses every stored integration secret.
    INTEGRATIONS_KEY: env.INTEGRATIONS_KEY || persistentSecret(data.integrationsKey, 32),
    API_HOST: apiHost,
    API_PORT: String(apiPort),
    PUBLIC_URL: env.PUBLIC_URL || apiUrl,
    // The dashboard and its WebSocket come from the API's own origin.
    CORS_ORIGINS: env.CORS_ORIGINS || new URL(env.PUBLIC_URL || apiUrl).origin,
    WORK_DIR: env.WORK_DIR || data.work,
  };

  await buildDashboard();
  const migrated = await sup.run({ name: 'migrate', command: node, args: [path.join(ROOT, 'db/migrate.ts')], env: appEnv, cwd: ROOT });
  for (const line of migrated.split('\n').filter((l) => l.startsWith('migrate:'))) say(`  ${line}`);

  const admin = await ensureAdmin(databaseUrl, {
    email: env.OPSSIGHT_ADMIN_EMAIL || undefined,
    password: env.OPSSIGHT_ADMIN_PASSWORD || undefined,
  });
  if (admin.created && admin.generatedPassword) {
    say(`  admin      created ${admin.email} (team "${admin.team}") with generated password: ${admin.generatedPassword}`);
    say('             it is shown only this once and stored nowhere; note it now');
  } else if (admin.created) {
    say(`  admin      created ${admin.email} (team "${admin.team}") with OPSSIGHT_ADMIN_PASSWORD`);
  } else {
    say(`  admin      ${admin.email} exists`);
  }

  const workerStarted = new Date();
  for (let i = 1; i <= workers; i++) {
    // Each worker serves its own /metrics when asked to: one port each, counted up from the one given.
    const metricsPort = env.WORKER_METRICS_PORT ? { WORKER_METRICS_PORT: String(Number(env.WORKER_METRICS_PORT) + i - 1) } : {};
    const worker = sup.start({ name: `worker-${i}`, command: node, args: [...WORKER_NODE_FLAGS, path.join(ROOT, 'workers/main.ts')], env: { ...appEnv, ...metricsPort }, cwd: ROOT, stopTimeoutMs: 30_000 });
    say(`  worker-${i}   task queue ${TASK_QUEUES.infra} (pid ${worker.pid})`);
  }
  const api = sup.start({ name: 'api', command: node, args: [path.join(ROOT, 'api/server.ts')], env: appEnv, cwd: ROOT });
  say(`  api        ${apiUrl} (pid ${api.pid})`);
  await untilReady(
    Promise.all([
      waitUntil('the API', 60_000, () => apiReady(apiUrl)),
      waitUntil(`${workers} workers`, 120_000, () => workerPolling(temporal.address, namespace, TASK_QUEUES.infra, workerStarted, workers)),
      ...(mail ? [mail.ready] : []),
    ]),
  );
  sup.serving();

  say('');
  say(`OpsSight API: ${apiUrl}`);
  if (temporal.ui) say(`Temporal UI: ${temporal.ui}`);
  if (mail) say(`Mail catcher UI: ${mail.ui}   (SMTP ${mail.smtp}: the host and port of an smtp integration, to read escalation email there)`);
  say(`Logs: ${rel(data.logs)}/{${Object.keys(sup.pids()).join(',')}}.log   pids: ${rel(data.pidFile)}`);
  say(`A process that dies is restarted (logged here, counted in ${rel(data.pidFile)}).`);
  say('Press Ctrl-C to stop.');

  const died = await sup.fatal;
  if (!shuttingDown) {
    shuttingDown = true;
    await shutdown(1, died.message, died.logPath);
  }
}

main().catch(async (err: unknown) => {
  if (shuttingDown) return; // a signal arrived mid-start; shutdown() owns the exit
  shuttingDown = true;
  const message = err instanceof Error ? err.message : String(err);
  // A failed one-shot (migrate) already carries its log's tail in the message.
  const logPath = err instanceof ChildDiedError && err.child !== 'migrate' ? err.logPath : undefined;
  await shutdown(1, `failed: ${message}`, logPath);
});
