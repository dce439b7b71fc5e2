import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, query, type FieldError } from '../client/http.ts';
import { useMe } from '../client/me.ts';
import { AdminNav } from '../components/AdminNav.tsx';
import { FieldMessage } from '../components/FieldMessage.tsx';
import { formatTime } from '../format.ts';
import { navigate, useLocation } from '../router.tsx';

type Entry = { id: string; at: string; actorId: string | null; actorEmail: string | null; action: string; resourceType: string; resourceId: string; teamId: string | null; ip: string | null; data: Record<string, unknown> | null };
type TeamItem = { id: string; slug: string; name: string };

/** The page's filters, as the URL carries them (a reload or a shared link keeps them); times are ISO. */
const FILTERS = ['team', 'actor', 'action', 'targetType', 'targetId', 'since', 'until'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;
/** The API's name for each filter, so its field errors land next to the right input. */
const API_FIELD: Record<keyof Filters, string> = { team: 'teamId', actor: 'actorEmail', action: 'action', targetType: 'resourceType', targetId: 'resourceId', since: 'since', until: 'until' };
const ACTIONS = ['role.', 'member.', 'member.role.assign', 'team.', 'team.settings.update', 'user.', 'auth.', 'auth.login', 'session.', 'mfa.', 'auth_provider.', 'integration.'];

/** datetime-local inputs speak the browser's local time without a zone; the URL and the API speak ISO. */
function toLocalInput(iso: string): string {
  const at = Date.parse(iso);
  // A malformed time from a hand-edited URL shows as empty here; the API names it beside the field.
  return Number.isNaN(at) ? '' : new Date(at - new Date(at).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
const fromLocalInput = (v: string) => (v ? new Date(v).toISOString() : '');

/**
 * The audit log (GET /api/v1/audit), newest first, a page at a time, filtered by actor, action (exact,
 * or a prefix ending in "."), target, team and time. Platform admins see every team's entries; a team
 * admin sees the teams they manage, one at a time.
 */
export function AuditPage() {
  const me = useMe();
  const { search } = useLocation();
  const applied = Object.fromEntries(FILTERS.map((f) => [f, search.get(f) ?? ''])) as Filters;
  const key = FILTERS.map((f) => applied[f]).join('\u0000');
  const [draft, setDraft] = useState<Filters>(applied);
  const [loadedTeams, setTeams] = useState<TeamItem[] | null>(null);
  const teams = loadedTeams ?? [];
  const [items, setItems] = useState<Entry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const platform = me?.user.isAdmin ?? false;
  const managed = platform ? teams : teams.filter((t) => me?.teams.some((m) => m.id === t.id && m.permissions.includes('team:manage')));
  // A team admin always looks at one team they manage; a platform admin may look at all.
  const teamSlug = applied.team || (platform ? '' : (managed[0]?.slug ?? ''));
  const teamId = teams.find((t) => t.slug === teamSlug)?.id;

  useEffect(() => void get<{ items: TeamItem[] }>('/api/v1/teams').then((r) => setTeams(r.items), () => setTeams([])), []);
  useEffect(() => setDraft(applied), [key]);

  const load = async (cursor?: string) => {
    try {
      const page = await get<{ items: Entry[]; nextCursor: string | null }>(
        `/api/v1/audit${query({ limit: 50, cursor, teamId, actorEmail: applied.actor, action: applied.action, resourceType: applied.targetType, resourceId: applied.targetId, since: applied.since, until: applied.until })}`,
      );
      setItems((before) => (cursor ? [...(before ?? []), ...page.items] : page.items));
      setNext(page.nextCursor);
      setErrors([]);
      setProblem(null);
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : null;
      const byField = Object.entries(API_FIELD);
      // The API names its fields; the form shows each message under the input that set it.
      setErrors((apiErr?.errors ?? []).map((e) => ({ field: byField.find(([, api]) => api === e.field)?.[0] ?? e.field, message: e.message })));
      setProblem(apiErr ? `Not loaded: ${apiErr.message}.` : 'The server could not be reached.');
      if (!cursor) setItems([]);
    }
  };
  // Wait for /me and the team list: the API filters on the team's id, and a team admin must name one.
  const ready = !!me && loadedTeams !== null && (platform ? !teamSlug || !!teamId : !!teamId);
  useEffect(() => {
    if (ready) void load();
  }, [ready, key, teamId]);

  const apply = (e: Event) => {
    e.preventDefault();
    navigate(`/admin/audit${query({ ...draft })}`);
  };
  const set = (name: keyof Filters, value: string) => setDraft({ ...draft, [name]: value });
  const teamOf = (id: string | null) => (id ? (teams.find((t) => t.id === id)?.slug ?? id) : '');

  if (!me) return <p aria-busy="true">Loading…</p>;
  if (!platform && loadedTeams !== null && managed.length === 0) {
    return (
      <section aria-labelledby="audit-title">
        <h1 id="audit-title">Audit log</h1>
        <p>The audit log is for platform administrators and team admins.</p>
      </section>
    );
  }
  const text = (name: keyof Filters, label: string, extra: { placeholder?: string; list?: string } = {}) => (
    <label>
      {label}
      <input type="text" name={name} value={draft[name]} onInput={(e) => set(name, e.currentTarget.value)} aria-describedby={`audit-${name}-err`} aria-invalid={errors.some((x) => x.field === name) || undefined} {...extra} />
      <FieldMessage id={`audit-${name}-err`} field={name} errors={errors} />
    </label>
  );
  const time = (name: 'since' | 'until', label: string) => (
    <label>
      {label}
      <input type="datetime-local" name={name} value={toLocalInput(draft[name])} onInput={(e) => set(name, fromLocalInput(e.currentTarget.value))} aria-describedby={`audit-${name}-err`} />
      <FieldMessage id={`audit-${name}-err`} field={name} errors={errors} />
    </label>
  );

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <AdminNav />
      <form class="filters card" aria-label="Filter the audit log" onSubmit={apply}>
        <label>
          Team
          <select name="team" value={draft.team || teamSlug} onChange={(e) => set('team', e.currentTarget.value)} aria-describedby="audit-team-err">
            {platform && <option value="">All teams</option>}
            {managed.map((t) => (
              <option key={t.id} value={t.slug}>
                {t.name}
              </option>
            ))}
          </select>
          <FieldMessage id="audit-team-err" field="team" errors={errors} />
        </label>
        {text('actor', 'Actor (email)', { placeholder: 'someone@example.com' })}
        {text('action', 'Action', { placeholder: 'role. (a prefix) or role.create', list: 'audit-actions' })}
        {text('targetType', 'Target type', { placeholder: 'role, membership, team, user…' })}
        {text('targetId', 'Target id')}
        {time('since', 'From')}
        {time('until', 'Until (excluded)')}
        <datalist id="audit-actions">
          {ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button type="button" class="secondary" onClick={() => navigate('/admin/audit')}>
            Clear
          </button>
        </div>
      </form>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <div class="table-wrap card">
        <table data-testid="audit-table">
          <caption class="sr-only">Audit entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Team</th>
              <th scope="col">Address</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {items?.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  No entries match.
                </td>
              </tr>
            )}
            {(items ?? []).map((e) => (
              <tr key={e.id} data-testid="audit-entry">
                <td data-label="When">
                  <time dateTime={e.at}>{formatTime(e.at)}</time>
                </td>
                <td data-label="Actor">{e.actorEmail ?? 'the system'}</td>
                <td data-label="Action">
                  <code>{e.action}</code>
                </td>
                <td data-label="Target">
                  {e.resourceType} <code class="small">{e.resourceId}</code>
                </td>
                <td data-label="Team">{teamOf(e.teamId)}</td>
                <td data-label="Address">{e.ip ?? ''}</td>
                <td data-label="Details">
                  {e.data && (
                    <details class="audit-data">
                      <summary>data</summary>
                      <pre>{JSON.stringify(e.data, null, 2)}</pre>
                    </details>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {next && (
        <button type="button" class="secondary load-more" onClick={() => void load(next)}>
          Older entries
        </button>
      )}
    </section>
  );
}
