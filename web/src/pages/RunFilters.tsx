import { useEffect, useState } from 'preact/hooks';
import { RUN_STATUSES } from '../../../contracts/runs.ts';
import type { KindInfo } from '../client/kinds.ts';
import type { Me } from '../client/me.ts';

/** The runs list's filters; all but `team` live in the URL, so a reload or a shared link keeps them. */
export type Filters = { q: string; kind: string; status: string; target: string; by: string; from: string; to: string; team: string };
export const URL_FILTERS = ['q', 'kind', 'status', 'target', 'by', 'from', 'to'] as const;

const DAY = 86_400_000;

/** The API's query for the filters: dates are whole days in the browser's time zone, `to` included. */
export function apiQuery(f: Filters): Record<string, string | undefined> {
  const day = (d: string, plus = 0) => (d ? new Date(Date.parse(`${d}T00:00:00`) + plus).toISOString() : undefined);
  return {
    q: f.q || undefined,
    kind: f.kind || undefined,
    status: f.status || undefined,
    target: f.target || undefined,
    team: f.team || undefined,
    requestedBy: f.by || undefined,
    createdFrom: day(f.from),
    createdTo: day(f.to, DAY),
  };
}

/** Whether a run announced live belongs in the list as filtered (a text search waits for a reload). */
export function matches(f: Filters, r: { kind: string; status: string; team: string; target: string | null; requester?: { label: string } }): boolean {
  if (f.q || f.from || f.to) return false;
  return (
    (!f.kind || r.kind === f.kind) &&
    (!f.status || r.status === f.status) &&
    (!f.team || r.team === f.team) &&
    (!f.target || r.target === f.target) &&
    (!f.by || r.requester?.label.toLowerCase() === f.by.toLowerCase())
  );
}

type Props = { filters: Filters; kinds: KindInfo[] | null; me: Me | null; set: (name: keyof Filters, value: string) => void };

/**
 * A text filter applied on Enter or when left, not on every key (each change is a request). What is
 * typed is the box's own until then: the list re-renders every second while a run is active, and a
 * box bound to the applied value would lose the typing.
 */
function TextFilter({ label, name, value, placeholder, set }: { label: string; name: keyof Filters; value: string; placeholder: string; set: Props['set'] }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return (
    <label class={name === 'q' ? 'grow' : undefined}>
      {label}
      <input type="search" name={name} value={draft} placeholder={placeholder} onInput={(e) => setDraft(e.currentTarget.value)} onChange={(e) => set(name, e.currentTarget.value.trim())} />
    </label>
  );
}

export function RunFilters({ filters, kinds, me, set }: Props) {
  return (
    <form class="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
      <TextFilter label="Search" name="q" value={filters.q} placeholder="target, user, error, run id" set={set} />
      <label>
        Kind
        <select value={filters.kind} onChange={(e) => set('kind', e.currentTarget.value)} name="kind">
          <option value="">Any</option>
          {kinds?.map((k) => (
            <option value={k.kind} key={k.kind}>
              {k.title}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={filters.status} onChange={(e) => set('status', e.currentTarget.value)} name="status">
          <option value="">Any</option>
          {RUN_STATUSES.map((s) => (
            <option value={s} key={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
      </label>
      <label>
        Team
        <select value={filters.team} onChange={(e) => set('team', e.currentTarget.value)} name="team">
          <option value="">All teams</option>
          {me?.choices.map((t) => (
            <option value={t.slug} key={t.slug}>
              {t.name}
            </option>
          ))}
        </select>
      </label>
      <TextFilter label="Target" name="target" value={filters.target} placeholder="exact name" set={set} />
      <TextFilter label="Started by" name="by" value={filters.by} placeholder="email" set={set} />
      <label>
        From
        <input type="date" name="from" value={filters.from} onChange={(e) => set('from', e.currentTarget.value)} />
      </label>
      <label>
        To
        <input type="date" name="to" value={filters.to} onChange={(e) => set('to', e.currentTarget.value)} />
      </label>
    </form>
  );
}
