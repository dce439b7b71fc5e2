import { readdir, readFile } from 'node:fs/promises';

type ProcStat = { pid: number; ppid: number; pgid: number };

async function statOf(pid: number): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  // The command name sits in parentheses and may itself hold ') ': the fields after the last one are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]) };
}

/**
 * Processes below the launch's wrapper (by parent links) that have left its process group, so a signal
 * to the group does not reach them. ansible-playbook's workers call setsid() as they start: one being
 * forked as the cancel's SIGINT lands is missed by both the group signal and ansible's own forwarding,
 * and runs its task to the end while the play waits for it.
 */
export async function strays(wrapperPid: number): Promise<number[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const stats = (await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => statOf(Number(n))))).filter((s) => s !== null);
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const siblings = children.get(s.ppid);
    if (siblings) siblings.push(s);
    else children.set(s.ppid, [s]);
  }
  const found: number[] = [];
  for (let todo = [wrapperPid]; todo.length > 0; ) {
    const next: number[] = [];
    for (const parent of todo) {
      for (const child of children.get(parent) ?? []) {
        if (child.pgid !== wrapperPid) found.push(child.pid);
        next.push(child.pid);
      }
    }
    todo = next;
  }
  return found;
}

/** Sends `signal` to each of `pids` not in `sent` yet (and adds it there): a process is signalled once. */
export function signalEach(pids: number[], signal: NodeJS.Signals, sent = new Set<number>()): void {
  for (const pid of pids) {
    if (sent.has(pid)) continue;
    sent.add(pid);
    try {
      process.kill(pid, signal);
    } catch {
      // Gone since the scan.
    }
  }
}
