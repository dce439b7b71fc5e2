import type { RunEvent } from '../../../contracts/events.ts';
import type { AnsibleRecap, AnsibleSummary } from '../../../contracts/kinds/ansible.ts';
import type { RunView } from '../../../contracts/runs.ts';

const COLUMNS = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'] as const;

/** The Ansible summary of a run that has one: the real run's recap, else the check run's. */
export function ansibleSummaryOf(run: Pick<RunView, 'summary'>): { recap: AnsibleRecap; phase: 'run' | 'check' } | null {
  const s = run.summary as AnsibleSummary | null;
  if (s?.recap && typeof s.recap === 'object') return { recap: s.recap, phase: 'run' };
  if (s?.check && typeof s.check === 'object') return { recap: s.check, phase: 'check' };
  return null;
}

/** ansible-playbook's PLAY RECAP as a table: one row per host, what failed named beside it. */
export function HostRecapTable({ run }: { run: Pick<RunView, 'summary'> }) {
  const found = ansibleSummaryOf(run);
  if (!found) return null;
  const hosts = Object.entries(found.recap);
  return (
    <table class="compact-table host-recap" data-testid="host-recap">
      <caption>{found.phase === 'run' ? 'Play recap' : 'Check run (--check --diff): what the play would do'}</caption>
      <thead>
        <tr>
          <th scope="col">Host</th>
          {COLUMNS.map((c) => (
            <th scope="col" key={c}>
              {c}
            </th>
          ))}
          <th scope="col">Problem</th>
        </tr>
      </thead>
      <tbody>
        {hosts.map(([host, r]) => (
          <tr key={host} class={r.failed || r.unreachable ? 'bad' : r.changed ? 'changed' : 'ok'} data-host={host}>
            <th scope="row">{host}</th>
            {COLUMNS.map((c) => (
              <td key={c} data-label={c} class={r[c] > 0 ? `n-${c}` : 'muted'}>
                {r[c]}
              </td>
            ))}
            <td data-label="problem">{r.failedTask ? `${r.failedTask}: ${r.message ?? ''}` : r.unreachable ? (r.message ?? 'unreachable') : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type AnsibleData = { event: 'task' | 'host' | 'play' | 'recap'; task?: string; taskId?: string; host?: string; status?: string };
export const ansibleDataOf = (e: RunEvent): AnsibleData | null => (e.data?.ansible as AnsibleData | undefined) ?? null;

type Section = { key: string; title: string; results: RunEvent[] };

/** Groups a play's events into one section per task started (in order), holding each host's result. */
export function taskSections(events: RunEvent[]): Section[] {
  const sections: Section[] = [];
  const byKey = new Map<string, Section>();
  for (const e of events) {
    const a = ansibleDataOf(e);
    if (!a || !a.taskId) continue;
    // A task runs once in the check and once in the real run: each launch has its own section.
    const key = `${String(e.data?.proc ?? '')}:${a.taskId}`;
    let section = byKey.get(key);
    if (!section) {
      section = { key, title: a.task ?? '?', results: [] };
      byKey.set(key, section);
      sections.push(section);
    }
    if (a.event === 'host') section.results.push(e);
  }
  return sections;
}

const STATUS_ORDER = ['failed', 'unreachable', 'changed', 'ok', 'skipped'];

/** Each task of the run's plays as a collapsible section: closed when every host was fine, open when one failed. */
export function TaskSections({ events }: { events: RunEvent[] }) {
  const sections = taskSections(events);
  if (sections.length === 0) return null;
  return (
    <section class="task-sections" aria-label="Tasks" data-testid="task-sections">
      <h2>Tasks</h2>
      {sections.map((s) => {
        const statuses = s.results.map((e) => ansibleDataOf(e)?.status ?? 'ok');
        const worst = STATUS_ORDER.find((st) => statuses.includes(st)) ?? 'pending';
        const counts = STATUS_ORDER.filter((st) => statuses.includes(st)).map((st) => `${statuses.filter((x) => x === st).length} ${st}`);
        return (
          <details key={s.key} open={worst === 'failed' || worst === 'unreachable'} class={`task task-${worst}`} data-task={s.title}>
            <summary>
              <span class="task-title">{s.title}</span> <span class="muted">{counts.join(', ') || 'running…'}</span>
            </summary>
            <pre class="task-log">{s.results.map((e) => e.message).join('\n')}</pre>
          </details>
        );
      })}
    </section>
  );
}
