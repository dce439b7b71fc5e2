/**
 * The most common first try: root in a container, the checkout in a directory nobody else may enter
 * (a clone under /root, a `mktemp -d`: mode 700). PostgreSQL runs as the `postgres` user there, which
 * cannot reach node_modules; up.sh must still come up on its defaults, and the test script must pass.
 * The checkout is a copy of this working tree (node_modules hard-linked, .tools shared) in a fresh
 * mode-700 directory. Only meaningful as root (CI runs as root); elsewhere postgres runs as the caller.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killLeftovers, loginAdmin, ownStackEnv, runScript, type UpProcess } from './up-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const asRoot = process.getuid?.() === 0;
const parent = mkdtempSync(path.join(os.tmpdir(), 'opssight-private-'));
const checkout = path.join(parent, 'opssight');
// Where up.sh may put what the postgres user must reach: a directory of this test's, not /var/lib.
const shared = mkdtempSync(path.join(os.tmpdir(), 'opssight-pgshared-'));
chmodSync(shared, 0o755);
let up: UpProcess | undefined;

/** This working tree (tracked and new files, as git sees them) copied into the private directory. */
function copyWorkingTree(): void {
  execFileSync('bash', ['-c', `mkdir -p "${checkout}" && git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "${checkout}"`], { cwd: ROOT });
  // Hard links: same files, no second 500 MB; modification times kept, so bootstrap sees no reason for npm ci.
  execFileSync('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules')]);
  // The tools (Node 24, Temporal CLI, Terraform) are linked, not installed again; bin/ is the copy's
  // own, because bootstrap writes links there and the shared .tools must not point into this copy.
  const tools = path.join(checkout, '.tools');
  rmSync(tools, { recursive: true, force: true });
  mkdirSync(path.join(tools, 'bin'), { recursive: true });
  const own = realpathSync(path.join(ROOT, '.tools'));
  for (const dir of ['venv', 'node']) if (existsSync(path.join(own, dir))) symlinkSync(path.join(own, dir), path.join(tools, dir));
  for (const file of ['terraformrc', 'bin/terraform']) if (existsSync(path.join(own, file))) cpSync(path.join(own, file), path.join(tools, file));
}

afterAll(() => {
  killLeftovers(up, path.join(checkout, '.data'));
  rmSync(parent, { recursive: true, force: true });
  rmSync(shared, { recursive: true, force: true });
});

(asRoot ? describe : describe.skip)('a checkout in a mode-700 directory, as root', () => {
  it('runs scripts/up.sh on its defaults and passes the test script', async () => {
    expect(statSync(parent).mode & 0o777).toBe(0o700);
    copyWorkingTree();

    const { env, apiPort } = await ownStackEnv({ OPSSIGHT_POSTGRES_SHARED_DIR: shared, WORKERS: '1' });
    up = runScript(checkout, ['scripts/up.sh'], env);
    await up.waitFor(/^Press Ctrl-C to stop\.$/m);
    // The data directory is the checkout's .data/postgres, a link to where the postgres user can reach it.
    expect(readlinkSync(path.join(checkout, '.data/postgres'))).toMatch(new RegExp(`^${shared}/data-[0-9a-f]{12}/postgres$`));
    expect(up.output.text).toMatch(/postgres +embedded, 127\.0\.0\.1:\d+, data \.data\/postgres -> /);
    const password = up.output.text.match(/generated password: (\S+)/)?.[1];
    expect((await loginAdmin(`http://127.0.0.1:${apiPort}`, password!)).status).toBe(200);
    process.kill(up.child.pid!, 'SIGINT');
    expect(await up.exited).toBe(0);

    // The script (bootstrap, services, jest) on one test file of the suite, as root in the private
    // directory. Lint, type-check and the dashboard build read the same files the outer run checked and
    // touch no permission, so they are skipped here: they took two of this test's four minutes.
    const { env: testEnv } = await ownStackEnv();
    const suite = runScript(checkout, ['scripts/test.sh', 'test/api/health.test.ts'], { ...testEnv, OPSSIGHT_TEST_JEST_ONLY: '1' });
    const code = await suite.exited;
    expect([code, code === 0 ? '' : suite.output.text.slice(-4000)]).toEqual([0, '']);
    expect(suite.output.text).toMatch(/Tests: +\d+ passed, \d+ total/);
    expect(suite.output.text).toMatch(/^jest: [1-9]\d* passed, 0 failed, \d+ skipped$/m);
  }, 600_000);
});
