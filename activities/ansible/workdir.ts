import path from 'node:path';
import type { AnsibleParams } from '../../contracts/kinds/ansible.ts';
import type { Sandbox } from '../process/sandbox.ts';
import { exists, invalidConfig, prepareStepDir, type FetchSource, type StepDirs, type WorkFiles } from '../process/step-dir.ts';

/** What OpsSight writes beside the playbook; a user file cannot live here (the params schema refuses it). */
export const OWN_DIR = '.opssight';

/**
 * The step's work dir (see prepareStepDir): the playbook and its files, inline or from the run's git
 * source, plus what `own` returns for OpsSight's own directory; the step dir beside it holds the
 * runner's control directories.
 */
export async function prepareWorkDir(
  root: string,
  runId: string,
  step: string,
  params: AnsibleParams,
  sandbox: Sandbox,
  own: (workDir: string) => Promise<WorkFiles>,
  fetchSource?: FetchSource,
): Promise<StepDirs & { commit: string | null; fresh: boolean }> {
  return prepareStepDir({
    root,
    runId,
    step,
    sandbox,
    source: params.source,
    fetchSource,
    async checkCheckout(staging) {
      const source = params.source!;
      if (await exists(path.join(staging, OWN_DIR))) throw invalidConfig(`${OWN_DIR} in the repository: that name is OpsSight's`);
      if (!(await exists(path.join(staging, params.entry)))) throw invalidConfig(`${params.entry} does not exist in ${source.path} of ${source.url} at ${source.ref}`);
    },
    async files(workDir) {
      const files: WorkFiles = {};
      for (const [name, text] of Object.entries(params.files ?? {})) files[name] = { text };
      if (params.playbook !== undefined) files[params.entry] = { text: params.playbook };
      for (const [name, file] of Object.entries(await own(workDir))) files[path.join(OWN_DIR, name)] = file;
      return files;
    },
  });
}
