import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';

/**
 * Which machine this worker runs on, as far as processes and their files are concerned: workers that
 * share a host id must share WORK_DIR and a process table. The boot id changes on reboot, so a
 * process recorded before a reboot is never mistaken for a live one.
 */
export function defaultHostId(): string {
  let boot = '';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
  } catch {
    // Not Linux: the host name alone has to do.
  }
  return [os.hostname(), boot].filter(Boolean).join('-');
}

/**
 * True when `pid` is still the wrapper that launched process `procId`: a pid alone could have been
 * reused by anything since, so its command line must carry the launch's marker.
 */
export async function isOurProcess(pid: number, marker: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0').includes(marker);
  } catch {
    return false;
  }
}
