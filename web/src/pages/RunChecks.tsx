import type { CheckResult } from '../../../contracts/kinds/health-scan.ts';

/** A health scan's checks: what each probe saw, the status it leaves the check in, and what changed. */
export function RunChecks({ checks }: { checks: CheckResult[] }) {
  return (
    <div class="table-wrap card" data-testid="run-checks">
      <table>
        <caption class="sr-only">Checks of this scan</caption>
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">Status</th>
            <th scope="col">This scan</th>
            <th scope="col">Latency</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {checks.map((c) => (
            <tr key={c.name} data-check={c.name}>
              <th scope="row">
                {c.name} <span class="muted">{c.type}</span>
              </th>
              <td>
                <span class={`badge ${c.status === 'up' ? 'badge-succeeded' : 'badge-failed'}`}>{c.status}</span>
                {c.changed && <span class="muted"> (was {c.changed.from})</span>}
              </td>
              <td>{c.ok ? 'ok' : 'failed'}</td>
              <td>{c.latencyMs} ms</td>
              <td>{c.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
