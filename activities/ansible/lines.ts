import type { NewRunEvent } from '../../contracts/events.ts';
import type { AnsibleRecap } from '../../contracts/kinds/ansible.ts';

/** What our callback plugin (opssight_json.py) prints, one object per line. */
type PluginLine =
  | { event: 'play'; name: string }
  | { event: 'task'; task: string; id: number; uuid: string; handler: boolean }
  | { event: 'host'; host: string; task: string; uuid: string; status: 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable'; msg: string | null; diff: string | null; ignored?: boolean }
  | { event: 'warning'; msg: string }
  | { event: 'recap'; hosts: AnsibleRecap };

type Described = { message: string; level?: NewRunEvent['level']; data?: Record<string, unknown>; type?: 'log' | 'step' };

function parse(line: string): PluginLine | null {
  if (!line.startsWith('{')) return null;
  try {
    const value = JSON.parse(line) as PluginLine;
    return typeof value?.event === 'string' ? value : null;
  } catch {
    return null;
  }
}

const LEVEL: Record<string, NewRunEvent['level']> = { ok: 'info', changed: 'info', skipped: 'debug', failed: 'error', unreachable: 'error' };

/**
 * Turns the plugin's JSON lines into events a person reads: a task's start is a log line that opens
 * its section (data.ansible.task), each host's result a `step` event naming task and host, the recap
 * a log line. Anything else ansible prints (warnings, errors on stderr) stays as it is.
 */
export function describeAnsibleLine(line: string, stream: 'stdout' | 'stderr'): Described {
  const parsed = stream === 'stdout' ? parse(line) : null;
  if (!parsed) return { message: line };
  switch (parsed.event) {
    case 'play':
      return { message: `PLAY [${parsed.name}]`, data: { ansible: { event: 'play', play: parsed.name } } };
    case 'task':
      return {
        message: `${parsed.handler ? 'RUNNING HANDLER' : 'TASK'} [${parsed.task}]`,
        data: { ansible: { event: 'task', task: parsed.task, taskId: parsed.uuid } },
      };
    case 'host': {
      const shown = parsed.ignored ? `${parsed.status} (ignored)` : parsed.status;
      const detail = parsed.msg ? `: ${parsed.msg}` : '';
      const diff = parsed.diff ? `\n${parsed.diff.trimEnd()}` : '';
      return {
        type: 'step',
        level: parsed.ignored ? 'warn' : LEVEL[parsed.status] ?? 'info',
        message: `${shown}: [${parsed.host}] ${parsed.task}${detail}${diff}`,
        data: { ansible: { event: 'host', host: parsed.host, task: parsed.task, taskId: parsed.uuid, status: parsed.status, ...(parsed.ignored ? { ignored: true } : {}) } },
      };
    }
    case 'warning':
      return { message: `[WARNING]: ${parsed.msg}`, level: 'warn' };
    case 'recap': {
      const rows = Object.entries(parsed.hosts).map(
        ([h, r]) => `${h} : ok=${r.ok} changed=${r.changed} unreachable=${r.unreachable} failed=${r.failed} skipped=${r.skipped} rescued=${r.rescued} ignored=${r.ignored}`,
      );
      return { message: ['PLAY RECAP', ...rows].join('\n'), data: { ansible: { event: 'recap', hosts: parsed.hosts } } };
    }
    default:
      return { message: line };
  }
}
