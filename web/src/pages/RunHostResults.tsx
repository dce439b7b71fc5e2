import type { RunEvent } from '../../../contracts/events.ts';
import type { RunView } from '../../../contracts/runs.ts';

type HostResult = { host: string; status: 'succeeded' | 'failed'; exitCode: number | null; error?: string };

/** A log line as the viewer shows it: output from one of several hosts says which (`[web1] …`). */
export function logLineOf(e: RunEvent): { seq: number; text: string; stream?: 'stdout' | 'stderr' } {
  const host = typeof e.data?.host === 'string' ? e.data.host : null;
  return { seq: e.seq, text: host ? `[${host}] ${e.message}` : e.message, ...(e.stream ? { stream: e.stream } : {}) };
}

function hostResults(run: Pick<RunView, 'summary'>): HostResult[] | null {
  const hosts = run.summary?.hosts;
  if (!Array.isArray(hosts) || !hosts.every((h) => h && typeof h === 'object' && typeof (h as HostResult).host === 'string' && 'exitCode' in h)) return null;
  return hosts as HostResult[];
}

/** Each host's result and exit code (an ssh-command run's summary); its output is the log's `[host]` lines. */
export function RunHostResults({ run }: { run: Pick<RunView, 'summary'> }) {
  const hosts = hostResults(run);
  if (!hosts) return null;
  return (
    <section class="table-wrap host-results" aria-labelledby="hosts-title" data-testid="host-results">
      <h2 id="hosts-title">Hosts</h2>
      <table class="compact-table">
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Result</th>
            <th scope="col">Exit code</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {hosts.map((h) => (
            <tr key={h.host} data-host={h.host}>
              <th scope="row">{h.host}</th>
              <td class={h.status === 'succeeded' ? 'host-ok' : 'host-bad'}>{h.status}</td>
              <td>{h.exitCode ?? '—'}</td>
              <td>{h.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
