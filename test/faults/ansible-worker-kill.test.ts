import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { loadConfig } from '../../core/config.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { initOrm } from '../../db/orm.ts';
import { hostsDir, inventoryOf, storeSshIntegration } from '../fixtures/ansible.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';
import { stopProcess } from '../peers/processes.ts';
import { recordFault, rounds } from './report.ts';
import { useFaultStack } from './stack.ts';

// Worker processes are killed with SIGKILL while ansible-playbook plays: no cleanup runs in them, the
// play keeps going. The appending task must run exactly once on each host (the file's lines count
// it), each task's result on each host be stored once, and the run end succeeded on the next worker.
const stack = useFaultStack({ workers: 0 });
let web1: SshdPeer;
let web2: SshdPeer;
let dir: string;
let inventory: ReturnType<typeof inventoryOf>;
const BATCH = 3;
// before and append on both hosts; a pause runs once for the play (on the first host), twice.
const EXPECTED_RESULTS = 6;

const playbook = (tag: string) => `
- hosts: web
  gather_facts: false
  tasks:
    - name: before
      ansible.builtin.command: "true"
    - name: wait a while
      ansible.builtin.pause:
        seconds: 3
    - name: append a line
      ansible.builtin.shell: "echo ran >> ${dir}/${tag}-{{ inventory_hostname }}.count"
    - name: wait again
      ansible.builtin.pause:
        seconds: 1
`;

beforeAll(async () => {
  [web1, web2] = await Promise.all([startSshd(), startSshd()]);
  dir = hostsDir();
  const orm = await initOrm(stack().env.DATABASE_URL!, { poolMax: 1 });
  const keyring = keyringFromConfig(loadConfig(process.env));
  const login = (peer: SshdPeer) => storeSshIntegration(orm.em, keyring, stack().team.id, { user: peer.user, hostKeys: [peer.knownHostsLine], privateKey: peer.clientKey.privateKey });
  inventory = inventoryOf([{ peer: web1, integration: await login(web1) }, { peer: web2, integration: await login(web2) }]);
  await orm.close();
}, 60_000);
afterAll(async () => {
  await Promise.all([web1?.stop(), web2?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const hostSteps = (runId: string) =>
  stack().query<{ host: string; task: string }>(
    `select data->'ansible'->>'host' as host, data->'ansible'->>'task' as task from run_events where run_id = $1 and type = 'step' and data->'ansible'->>'event' = 'host'`,
    [runId],
  );

it('worker kill -9 mid-play: the play is not replayed, each host appends exactly once, each result stored once', async () => {
  const total = rounds(1, 9);
  const outcomes: Array<{ runId: string; ok: boolean; why: string }> = [];
  let workers = [await stack().worker(), await stack().worker()];
  for (let done = 0; done < total; done += BATCH) {
    const runs = await Promise.all(
      Array.from({ length: Math.min(BATCH, total - done) }, async () => {
        const tag = crypto.randomUUID().slice(0, 8);
        const res = await stack().call('POST', '/api/v1/runs', stack().token, { kind: 'ansible', team: stack().team.slug, params: { inventory, playbook: playbook(tag), check: false, autoApply: true } });
        if (res.status !== 201) throw new Error(`start answered ${res.status}: ${JSON.stringify(res.body)}`);
        return { runId: res.body.id as string, tag };
      }),
    );
    // Mid-play for every run: the first task has a result on both hosts, the append has none yet.
    await stack().untilRuns(runs.map((r) => r.runId), 'every play to be past its first task', async () => {
      for (const r of runs) {
        const steps = await hostSteps(r.runId);
        if (steps.filter((s) => s.task === 'before').length < 2 || steps.some((s) => s.task === 'append a line')) return undefined;
      }
      return true;
    }, 120_000, 100);
    for (const w of workers) await stopProcess(w.child, 'SIGKILL');
    workers = [await stack().worker(), await stack().worker()];

    for (const { runId, tag } of runs) {
      const final = await stack().ended(runId, 180_000);
      const appended = ['web1', 'web2'].map((h) => readFileSync(`${dir}/${tag}-${h}.count`, 'utf8').split('\n').filter(Boolean).length);
      const steps = await hostSteps(runId);
      const perTaskHost = new Map<string, number>();
      for (const s of steps) perTaskHost.set(`${s.task}@${s.host}`, (perTaskHost.get(`${s.task}@${s.host}`) ?? 0) + 1);
      const launches = await stack().query<{ n: string }>(`select count(*) as n from run_processes where run_id = $1 and command = 'ansible-playbook'`, [runId]);
      const ok = final.status === 'succeeded' && appended.every((n) => n === 1) && perTaskHost.size === EXPECTED_RESULTS && [...perTaskHost.values()].every((n) => n === 1) && Number(launches[0]!.n) === 1;
      outcomes.push({ runId, ok, why: `${final.status} ${final.error ?? ''} appended=${appended} results=${JSON.stringify([...perTaskHost])} launches=${launches[0]!.n}` });
    }
  }
  const passed = outcomes.filter((o) => o.ok).length;
  recordFault({ fault: 'worker kill -9 mid-play (ansible)', passed, rounds: outcomes.length, detail: 'the appending task ran once on each of 2 hosts, one launch of ansible-playbook, each task result stored once, run succeeded' });
  expect(outcomes.filter((o) => !o.ok)).toEqual([]);
}, 900_000);
