// An Ansible run through OpsSight against bare ansible-playbook, measured in the same run: a 10-task
// playbook on two real sshd hosts on loopback. OpsSight's side is POST /api/v1/runs (auto-applied, no
// check run) until the run reads succeeded: the API, the workflow, the process runner, the sandbox
// uid, events stored per line. The bare side is ansible-playbook with the same inventory, key,
// known_hosts and ssh options from a shell's point of view. Rounds alternate the order.
// Run: npm run bench (or node bench/ansible.ts). Goal: ratio ≤ 1.2.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeMasters, sshArgs } from '../activities/ansible/connection.ts';
import { loadConfig } from '../core/config.ts';
import { keyringFromConfig } from '../core/secrets/keyring.ts';
import { hostsDir, inventoryOf, storeSshIntegration } from '../test/fixtures/ansible.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { startSshd } from '../test/peers/sshd.ts';
import { startTestWorker } from '../test/peers/worker.ts';
import { startBenchStack } from './peers.ts';
import { fmt, table } from './stats.ts';

const ROUNDS = Number(process.env.BENCH_ANSIBLE_ROUNDS ?? 3);
const BIN = process.env.ANSIBLE_PLAYBOOK_BIN ?? 'ansible-playbook';

/** Ten tasks of the kinds a playbook has: commands, files, templates, facts, a loop. */
const playbook = (dir: string) => `
- hosts: web
  gather_facts: false
  tasks:
    - name: a directory per host
      ansible.builtin.file: { path: "${dir}/{{ inventory_hostname }}", state: directory, mode: "0755" }
    - name: a file
      ansible.builtin.copy: { dest: "${dir}/{{ inventory_hostname }}/a.txt", content: "a {{ 1000 | random }}\\n" }
    - name: a line in it
      ansible.builtin.lineinfile: { path: "${dir}/{{ inventory_hostname }}/a.txt", line: "b" }
    - name: a template
      ansible.builtin.copy: { dest: "${dir}/{{ inventory_hostname }}/t.txt", content: "{{ inventory_hostname }} {{ 1000 | random }}\\n" }
    - name: a command
      ansible.builtin.command: uname -a
      changed_when: false
    - name: a shell pipeline
      ansible.builtin.shell: ls / | wc -l
      changed_when: false
    - name: stat the file
      ansible.builtin.stat: { path: "${dir}/{{ inventory_hostname }}/a.txt" }
      register: st
    - name: assert on it
      ansible.builtin.assert: { that: [st.stat.exists] }
    - name: a small loop
      ansible.builtin.command: "echo {{ item }}"
      loop: [1, 2, 3]
      changed_when: false
    - name: a fact
      ansible.builtin.set_fact: { done: true }
`;

function bare(hostList: Array<{ name: string; address: string; port: number; key: string }>, knownHosts: string, text: string): Promise<number> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-ansible-'));
  const own = path.join(work, '.opssight');
  mkdirSync(path.join(own, 'cp'), { recursive: true });
  writeFileSync(path.join(own, 'known_hosts'), knownHosts);
  const hosts = Object.fromEntries(hostList.map((h) => [h.name, { ansible_host: h.address, ansible_port: h.port, ansible_ssh_private_key_file: h.key }]));
  writeFileSync(path.join(work, 'inventory.json'), JSON.stringify({ all: { hosts, children: { web: { hosts: Object.fromEntries(Object.keys(hosts).map((h) => [h, {}])), vars: { ansible_python_interpreter: '/usr/bin/python3' } } } } }));
  writeFileSync(path.join(work, 'playbook.yml'), text);
  writeFileSync(path.join(work, 'ansible.cfg'), `[defaults]\nhost_key_checking = True\nretry_files_enabled = False\n[ssh_connection]\ncontrol_path_dir = ${path.join(own, 'cp')}\npipelining = True\n`);
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['-i', 'inventory.json', 'playbook.yml'], {
      cwd: work,
      env: { PATH: process.env.PATH!, HOME: work, ANSIBLE_CONFIG: path.join(work, 'ansible.cfg'), ANSIBLE_SSH_ARGS: sshArgs(work) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', async (code) => {
      const seconds = (performance.now() - began) / 1000;
      await closeMasters(path.join(own, 'cp'));
      rmSync(work, { recursive: true, force: true });
      if (code === 0) resolve(seconds);
      else reject(new Error(`bare ansible-playbook exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

const stack = await startBenchStack({ RATE_LIMIT_API_PER_MINUTE: '1000000' });
const [web1, web2] = await Promise.all([startSshd(), startSshd()]);
const worker = await startTestWorker({ ...stack.env, LOG_LEVEL: 'silent' });
const dir = hostsDir();
try {
  const { api } = stack;
  const team = await createTeam(api.deps.db.em);
  const approver = await createUser(api.deps.db.em, { teams: [team], role: 'approver' });
  const { accessToken: token } = await api.deps.sessions.start(api.deps.db.em.fork(), approver.id);
  const keyring = keyringFromConfig(loadConfig({ ...process.env, ...stack.env }));
  // Each sshd peer accepts its own client key: one ssh integration per host.
  const login = (peer: typeof web1) => storeSshIntegration(api.deps.db.em, keyring, team.id, { user: peer.user, hostKeys: [peer.knownHostsLine], privateKey: peer.clientKey.privateKey });
  const inventory = inventoryOf([{ peer: web1, integration: await login(web1) }, { peer: web2, integration: await login(web2) }]);
  const text = playbook(dir);

  const viaOpsSight = async (): Promise<number> => {
    const began = performance.now();
    const res = await fetch(`${api.baseUrl}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ kind: 'ansible', team: team.slug, params: { inventory, playbook: text, check: false, autoApply: true } }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 201 || !body.id) throw new Error(`POST /api/v1/runs answered ${res.status}: ${JSON.stringify(body)}`);
    for (;;) {
      const run = (await (await fetch(`${api.baseUrl}/api/v1/runs/${body.id}?fields=status,error`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; error: string | null };
      if (run.status === 'succeeded') return (performance.now() - began) / 1000;
      if (['failed', 'cancelled', 'timed_out', 'discarded'].includes(run.status)) throw new Error(`the run ended ${run.status}: ${run.error}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const keyDir = mkdtempSync(path.join(os.tmpdir(), 'bench-keys-'));
  const k1 = path.join(keyDir, 'k1');
  const k2 = path.join(keyDir, 'k2');
  writeFileSync(k1, web1.clientKey.privateKey, { mode: 0o600 });
  writeFileSync(k2, web2.clientKey.privateKey, { mode: 0o600 });
  const knownHosts = `${web1.knownHostsLine}\n${web2.knownHostsLine}\n`;
  const bareHosts = [
    { name: 'web1', address: web1.host, port: web1.port, key: k1 },
    { name: 'web2', address: web2.host, port: web2.port, key: k2 },
  ];
  const bareRun = () => bare(bareHosts, knownHosts, text);

  // One of each first, unmeasured: imports, the worker's first workflow task, ssh's first handshakes.
  await viaOpsSight();
  await bareRun();
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      ours.push(await viaOpsSight());
      theirs.push(await bareRun());
    } else {
      theirs.push(await bareRun());
      ours.push(await viaOpsSight());
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(ours) / median(theirs);
  console.log(`Ansible: a 10-task playbook on 2 sshd hosts, ${ROUNDS} rounds each (median wall time, seconds)`);
  console.log(
    table([
      ['path', 'median s', 'min s', 'max s'],
      ['OpsSight (POST /runs → succeeded)', fmt(median(ours)), fmt(Math.min(...ours)), fmt(Math.max(...ours))],
      ['bare ansible-playbook', fmt(median(theirs)), fmt(Math.min(...theirs)), fmt(Math.max(...theirs))],
      ['ratio (goal ≤ 1.2)', fmt(ratio), '', ''],
    ]),
  );
  rmSync(keyDir, { recursive: true, force: true });
} finally {
  await worker.shutdown();
  await Promise.all([web1.stop(), web2.stop()]);
  rmSync(dir, { recursive: true, force: true });
  await stack.stop();
}
