// ssh-command against plain OpenSSH: the same command on 20 host aliases (two real sshd on loopback,
// each listed 10 times), 10 at a time, once as an OpsSight run (POST /api/v1/runs → the run ends:
// workflow, per-host activity, launch recorded, command detached on the host, output stored as events)
// and once as `xargs -P10 ssh`. Rounds alternate so neither side gets all the warm caches; the median
// of each side is compared. Run: npm run bench (or node bench/ssh-command.ts).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { storeSshIntegration } from '../test/fixtures/ssh-command.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { startSshd } from '../test/peers/sshd.ts';
import { startWorker } from '../workers/runtime.ts';
import { startBenchStack } from './peers.ts';
import { alternatingMedians, fmt, table } from './stats.ts';

const ALIASES = 20;
const PARALLEL = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// A short command with some output, like a typical fleet check.
const COMMAND = 'uname -a; for i in 1 2 3 4 5; do echo "line $i"; done; sleep 0.5; echo done';

const stack = await startBenchStack({ RATE_LIMIT_API_PER_MINUTE: '1000000' });
const peers = await Promise.all([startSshd(), startSshd()]);
const scratch = mkdtempSync(path.join(os.tmpdir(), 'opssight-bench-ssh-'));
const config = loadConfig({ ...process.env, ...stack.env, WORK_DIR: path.join(scratch, 'work'), WORKER_HOST_ID: 'bench', HEARTBEAT_TIMEOUT_SECONDS: '10' });
const worker = await startWorker(config, createLogger({ level: 'silent', name: 'bench-worker' }), { reconciler: false });
try {
  const { api } = stack;
  const team = await createTeam(api.deps.db.em);
  const admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  const { accessToken: token } = await api.deps.sessions.start(api.deps.db.em.fork(), admin.id);
  const logins = await Promise.all(peers.map((p) => storeSshIntegration(api.deps.db.em, api.deps.keyring, team.id, p)));
  const hosts = Array.from({ length: ALIASES }, (_, i) => ({ name: `alias${i + 1}`, address: '127.0.0.1', port: peers[i % 2]!.port, integration: logins[i % 2]! }));

  const viaOpsSight = async () => {
    const res = await fetch(`${api.baseUrl}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ kind: 'ssh-command', team: team.slug, params: { hosts, command: COMMAND, parallel: PARALLEL } }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 201 || !body.id) throw new Error(`POST /api/v1/runs answered ${res.status}: ${JSON.stringify(body)}`);
    const result = (await api.deps.temporal.workflow.getHandle(body.id).result()) as { status: string };
    if (result.status !== 'succeeded') throw new Error(`run ${body.id} ended ${result.status}`);
    const lines = await api.deps.db.em.fork().getConnection().execute<{ n: string }[]>(`select count(*) as n from run_events where run_id = ? and type = 'log'`, [body.id]);
    if (Number(lines[0]!.n) !== ALIASES * 7) throw new Error(`run ${body.id} stored ${lines[0]!.n} lines, not ${ALIASES * 7}`);
  };

  // Plain OpenSSH with the same key and pinned host keys.
  const keyFile = path.join(scratch, 'id');
  writeFileSync(keyFile, peers[0]!.clientKey.privateKey, { mode: 0o600 });
  const peerKey = path.join(scratch, 'id2');
  writeFileSync(peerKey, peers[1]!.clientKey.privateKey, { mode: 0o600 });
  const knownHosts = path.join(scratch, 'known_hosts');
  writeFileSync(knownHosts, `${peers.map((p) => p.knownHostsLine).join('\n')}\n`);
  const list = hosts.map((h) => `${h.port}`).join('\n');
  const xargsScript = `xargs -P${PARALLEL} -I{} ssh -q -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts} -o IdentitiesOnly=yes -i ${keyFile} -i ${peerKey} -p {} ${peers[0]!.user}@127.0.0.1 '${COMMAND}'`;
  const viaXargs = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('sh', ['-c', xargsScript], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stdin.end(`${list}\n`);
      child.once('exit', (code) => {
        const n = out.trim().split('\n').length;
        if (code !== 0 || n !== ALIASES * 7) reject(new Error(`xargs ssh exited ${code} with ${n} lines`));
        else resolve();
      });
    });
  execFileSync('ssh', ['-V'], { stdio: 'ignore' });

  const { ours: o, baseline: x } = await alternatingMedians(ROUNDS, { baseline: viaXargs, ours: viaOpsSight });
  console.log(`ssh-command: ${ALIASES} host aliases (2 sshd), ${PARALLEL} at a time, \`${COMMAND}\`, median of ${ROUNDS} alternating rounds`);
  console.log(
    table([
      ['path', 'seconds'],
      [`xargs -P${PARALLEL} ssh`, fmt(x)],
      ['ssh-command run (API → run ended, output stored)', fmt(o)],
      ['ratio run ÷ xargs (goal ≤ 1.3×)', `${fmt(o / x, 2)}×`],
    ]),
  );
} finally {
  await worker.shutdown();
  await Promise.all(peers.map((p) => p.stop()));
  await stack.stop();
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(0);
