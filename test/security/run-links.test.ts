import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSandboxFile, writeSandboxFile } from '../../activities/process/sandbox-files.ts';
import { prepareWorkDir as prepareAnsibleDir } from '../../activities/ansible/workdir.ts';
import { configurationFiles, prepareWorkDir } from '../../activities/terraform/workdir.ts';
import { ansibleParamsSchema } from '../../contracts/kinds/ansible.ts';
import { terraformParamsSchema } from '../../contracts/kinds/terraform.ts';

// A run's configuration, and whatever its code leaves in its work dir, can put a symbolic link at any
// name the worker later writes or reads there. Written or read as the worker (root where runs are
// sandboxed), following it would change or disclose a file of the worker's host. Real files and links
// in a temporary directory; `host` stands for a file of the worker's host.
let tmp: string;
let host: string;
const HOST_TEXT = 'root:x:0:0:root:/root:/bin/sh\n';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'opssight-links-'));
  host = path.join(tmp, 'host-file');
  writeFileSync(host, HOST_TEXT);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const gitParams = (sourcePath = '.') => terraformParamsSchema.parse({ workspace: 'links', source: { url: 'https://git.example.test/ops/infra.git', ref: 'main', path: sourcePath } });
/** A checkout as git would leave it: `files` as regular files, `links` as symbolic links. */
const checkout = (files: Record<string, string>, links: Record<string, string>) => async (into: string) => {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(into, name)), { recursive: true });
    writeFileSync(path.join(into, name), text);
  }
  for (const [name, target] of Object.entries(links)) symlinkSync(target, path.join(into, name));
  return { commit: 'c0ffee' };
};

describe('the worker never follows a link the run controls', () => {
  it('writes its generated files over a link in the checkout, leaving the file it points at alone', async () => {
    const root = path.join(tmp, 'work-1');
    const dirs = await prepareWorkDir(root, crypto.randomUUID(), 'plan-1', gitParams(), null, checkout({ 'main.tf': 'terraform {}\n' }, { '.terraformrc': host }));
    expect(readFileSync(host, 'utf8')).toBe(HOST_TEXT);
    expect(lstatSync(path.join(dirs.workDir, '.terraformrc')).isFile()).toBe(true);
    expect(readFileSync(path.join(dirs.workDir, '.terraformrc'), 'utf8')).toBe('');
  });

  it('refuses a source path that leads out of the repository through a link', async () => {
    const outside = path.join(tmp, 'outside-dir');
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'secret.tf'), '# host file\n');
    const root = path.join(tmp, 'work-2');
    await expect(prepareWorkDir(root, crypto.randomUUID(), 'plan-1', gitParams('infra'), null, checkout({ 'README.md': 'x' }, { infra: outside }))).rejects.toThrow(/leads outside the repository/);
  });

  it('the policy reads what Terraform loads: hidden module directories and linked files inside, and refuses a link outside', async () => {
    const dir = path.join(tmp, 'config');
    mkdirSync(path.join(dir, '.modules', 'x'), { recursive: true });
    writeFileSync(path.join(dir, 'main.tf'), 'module "x" {\n  source = "./.modules/x"\n}\n');
    writeFileSync(path.join(dir, '.modules', 'x', 'hidden.tf'), 'resource "terraform_data" "h" {}\n');
    writeFileSync(path.join(dir, 'shared.tf.src'), 'locals {}\n');
    symlinkSync(path.join(dir, 'shared.tf.src'), path.join(dir, 'shared.tf'));
    expect(Object.keys(await configurationFiles(dir)).sort()).toEqual(['.modules/x/hidden.tf', 'main.tf', 'shared.tf']);
    symlinkSync(host, path.join(dir, 'evil.tf'));
    await expect(configurationFiles(dir)).rejects.toThrow(/evil\.tf is a symbolic link that leads outside the configuration/);
  });

  it('an Ansible checkout: a dangling link at OpsSight\'s own directory, or a source path through a link, is refused', async () => {
    const params = (sourcePath: string) => ansibleParamsSchema.parse({
      inventory: { hosts: [{ name: 'web1', address: '127.0.0.1', integration: crypto.randomUUID() }] },
      source: { url: 'https://git.example.test/ops/play.git', ref: 'main', path: sourcePath },
    });
    const own = async () => ({ 'inventory.json': { text: '{}' } });
    const planted = path.join(tmp, 'planted-dir');
    await expect(prepareAnsibleDir(path.join(tmp, 'work-4'), crypto.randomUUID(), 'run', params('.'), null, own, checkout({ 'playbook.yml': '- hosts: all\n' }, { '.opssight': planted }))).rejects.toThrow(/\.opssight in the repository/);
    expect(() => lstatSync(path.join(planted, 'inventory.json'))).toThrow();
    const outside = path.join(tmp, 'outside-play');
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'playbook.yml'), '- hosts: all\n');
    await expect(prepareAnsibleDir(path.join(tmp, 'work-5'), crypto.randomUUID(), 'run', params('play'), null, own, checkout({ 'README.md': 'x' }, { play: outside }))).rejects.toThrow(/leads outside the repository/);
  });

  it('replaces a link with a file of its own when writing, and refuses to read through one', async () => {
    const work = path.join(tmp, 'work-3');
    mkdirSync(work, { recursive: true });
    symlinkSync(host, path.join(work, 'opssight.tfplan'));
    await writeSandboxFile(path.join(work, 'opssight.tfplan'), 'plan bytes', null);
    expect(readFileSync(host, 'utf8')).toBe(HOST_TEXT);
    expect(readFileSync(path.join(work, 'opssight.tfplan'), 'utf8')).toBe('plan bytes');

    symlinkSync(host, path.join(work, 'errored.tfstate'));
    await expect(readSandboxFile(path.join(work, 'errored.tfstate'), null)).rejects.toThrow(/symbolic link/);
    expect(await readSandboxFile(path.join(work, 'absent.tfstate'), null)).toBeNull();
  });
});
