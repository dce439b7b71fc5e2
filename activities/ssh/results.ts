import type { SshHostResult } from '../../contracts/kinds/ssh-command.ts';

/** How a launch's recorded outcome (run_processes) reads as the host's result. */
export function resultOf(name: string, outcome: string, exitCode: number | null): SshHostResult {
  if (outcome === 'exited' && exitCode === 0) return { host: name, status: 'succeeded', exitCode };
  if (outcome === 'exited') return { host: name, status: 'failed', exitCode, error: `exit code ${exitCode}` };
  if (outcome === 'killed') return { host: name, status: 'failed', exitCode, error: 'the command was killed' };
  if (outcome === 'superseded') return { host: name, status: 'failed', exitCode, error: 'the command did not run' };
  return {
    host: name,
    status: 'failed',
    exitCode,
    error: 'the command vanished without an exit code (its processes were killed or the host rebooted); it may have run in part: check the host',
  };
}
