import { stripVTControlCharacters } from 'node:util';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ANSIBLE_FAILED, type AnsiblePlayResult, type AnsibleRecap, type HostRecap } from '../../contracts/kinds/ansible.ts';
import type { Ending } from '../process/command.ts';
import type { Session } from './session.ts';

const FINGERPRINT = /SHA256:[A-Za-z0-9+/]{43}/;

/** What went wrong on one host, in words a person acts on (ssh's own text is long and alarming). */
export function hostProblem(host: string, r: HostRecap): string {
  const msg = (r.message ?? '').replace(/\s+/g, ' ').trim();
  if (r.unreachable > 0) {
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/i.test(msg)) {
      const seen = FINGERPRINT.exec(msg)?.[0];
      return `${host}: unreachable: host key verification failed: the host presented ${seen ?? 'a key'} which its ssh integration does not pin (a changed host key, or the wrong host)`;
    }
    if (/Permission denied/i.test(msg)) return `${host}: unreachable: the ssh integration's key was refused (Permission denied)`;
    return `${host}: unreachable: ${msg.slice(0, 500) || 'no connection'}`;
  }
  return `${host}: task "${r.failedTask ?? '?'}" failed${msg ? `: ${msg.slice(0, 500)}` : ''}`;
}

export const problemsOf = (recap: AnsibleRecap): string[] =>
  Object.entries(recap)
    .filter(([, r]) => r.failed > 0 || r.unreachable > 0)
    .map(([h, r]) => hostProblem(h, r));

/**
 * ansible-playbook's own error (a YAML syntax error with its line, an unknown role, bad options): the
 * `[ERROR]` block of its stderr, without the noise before it.
 */
export function playbookError(stderrTail: string[], code: number | null, workDir?: string): string {
  const lines = stderrTail.map((l) => stripVTControlCharacters(l));
  const start = lines.findIndex((l) => /^\[ERROR\]|^ERROR!/.test(l));
  let text = (start >= 0 ? lines.slice(start) : lines.slice(-10)).join('\n').trim();
  // Paths as the user wrote them (relative to the playbook directory), and the position in words.
  if (workDir) text = text.split(`${workDir}/`).join('');
  text = text.replace(/^Origin: (\S+?):(\d+):(\d+)$/m, 'Origin: $1 line $2, column $3');
  return text.slice(0, 3000) || `ansible-playbook exited with ${code ?? 'no exit code'}`;
}

/**
 * How a launch of ansible-playbook ended, as the step's result: the recap (with each failed host's
 * task and message) when the play got that far, otherwise the error that ends the run.
 */
export async function outcomeOf(mode: 'check' | 'run', ending: Ending, session: Pick<Session, 'recap' | 'commit'> & { workDir?: string }): Promise<AnsiblePlayResult> {
  const what = mode === 'check' ? 'the check run' : 'the play';
  if (ending.kind === 'killed') throw new CancelledFailure(`${what} was killed on a force cancel`);
  if (ending.kind === 'exited' && ending.interrupted) throw new CancelledFailure(`${what} stopped on a cancel`);
  if (ending.kind === 'lost') {
    // Only a check run gets here (the real run is judged in play.ts): running it again is harmless.
    throw new Error(`${what}'s process vanished without an exit code; running it again`);
  }
  const recap = await session.recap(ending.proc.id);
  if (!recap) {
    throw ApplicationFailure.create({ message: playbookError(ending.stderrTail, ending.code, session.workDir), type: ANSIBLE_FAILED, nonRetryable: true });
  }
  return { recap, commit: session.commit, problems: problemsOf(recap) };
}
