import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';

export type PidFile = { supervisor: number; children: Record<string, number>; restarts: Record<string, number> };

/** `bash scripts/up.sh` (or any script of the stack) run from `cwd`, its output collected. */
export type UpProcess = {
  child: ChildProcess;
  output: { text: string };
  exited: Promise<number | null>;
  /** Resolves once `pattern` appears in the output; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<void>;
};

export function runScript(cwd: string, args: string[], env: NodeJS.ProcessEnv): UpProcess {
  const child = spawn('bash', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output = { text: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(output.text)) return;
        child.stdout!.off('data', check);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) => reject(new Error(`${args.join(' ')} exited (${code}) before printing ${pattern}:\n${output.text}`));
      child.stdout!.on('data', check);
      child.once('exit', onExit);
      check();
    });
  return { child, output, exited, waitFor };
}

/**
 * The environment for a stack of its own: none of the shared peers global-setup exported, explicit
 * ports for what a test addresses (PostgreSQL and Redis get the ones up.sh picks).
 */
/**
 * `n` distinct ports that nothing listens on now, below the ephemeral range (32768 and up, Linux's
 * default), from a slice of that range of this jest worker's own: the two up.sh files start together,
 * and a port both drew could be free when each checked and taken when the second up.sh looked (a CI
 * run lost its API port so).
 */
async function unephemeralPorts(n: number): Promise<number[]> {
  const slice = 3_000;
  const worker = Number(process.env.JEST_WORKER_ID ?? 1) - 1;
  const base = 20_000 + (worker % 4) * slice;
  const ports = new Set<number>();
  while (ports.size < n) {
    const port = base + Math.floor(Math.random() * slice);
    if (!ports.has(port) && (await canListen(port))) ports.add(port);
  }
  return [...ports];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function ownStackEnv(extra: NodeJS.ProcessEnv = {}) {
  // Every port of its own, maildev's too: up.sh's preferred ports (1025, 1080) are free-then-taken when
  // two of these files start together, and both would pick them. Below the kernel's ephemeral range:
  // up.sh binds some of these only after starting the rest, and meanwhile an outgoing connection of any
  // process can be given a port that listen(0) handed out (one CI run lost maildev's web port so).
  const [apiPort, temporalPort, uiPort, mailSmtpPort, mailWebPort] = await unephemeralPorts(5);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    'DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'TEMPORAL_ADDRESS', 'JWT_SECRET', 'INTEGRATIONS_KEY', 'NODE_ENV', 'TEST_DB_NAME',
    'OPSSIGHT_ADMIN_EMAIL', 'OPSSIGHT_ADMIN_PASSWORD', 'OPSSIGHT_POSTGRES_PORT', 'OPSSIGHT_REDIS_PORT', 'OPSSIGHT_DATA_DIR',
  ]) {
    delete env[name];
  }
  Object.assign(env, { API_PORT: String(apiPort), TEMPORAL_PORT: String(temporalPort), TEMPORAL_UI_PORT: String(uiPort), MAILDEV_SMTP_PORT: String(mailSmtpPort), MAILDEV_WEB_PORT: String(mailWebPort), LOG_LEVEL: 'info' }, extra);
  return { env, apiPort, temporalPort, uiPort };
}

export const readPids = (dataDir: string): PidFile => JSON.parse(readFileSync(path.join(dataDir, 'up.pids.json'), 'utf8'));

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what an up.sh left running (only reached when an assertion failed mid-way). */
export function killLeftovers(up: UpProcess | undefined, dataDir: string): void {
  if (!up || up.child.exitCode !== null) return;
  const pids = existsSync(path.join(dataDir, 'up.pids.json')) ? readPids(dataDir) : { supervisor: up.child.pid!, children: {} };
  for (const pid of [pids.supervisor, ...Object.values(pids.children)]) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Signs in as the admin up.sh created with the password it printed. */
export async function loginAdmin(apiUrl: string, password: string): Promise<Response> {
  return fetch(`${apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@opssight.local', password }),
  });
}
