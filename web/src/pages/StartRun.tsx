import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RunView } from '../../../contracts/runs.ts';
import { ApiError, post, type FieldError } from '../client/http.ts';
import { useKinds } from '../client/kinds.ts';
import { may, useMe } from '../client/me.ts';
import { SchemaForm } from '../form/SchemaForm.tsx';
import { errorsByField, initialValue, missingRequired } from '../form/json-schema.ts';
import { teamPref } from '../prefs.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { initialScheduleChoice, ScheduleFields, scheduleRequest } from './ScheduleFields.tsx';

/**
 * Start a run: pick a kind and a team, fill the form generated from the kind's params schema. With
 * "Repeat on a schedule" the same inputs make a schedule instead (POST /schedules).
 */
export function StartRunPage() {
  const kinds = useKinds();
  const me = useMe();
  const { search } = useLocation();
  const [kind, setKind] = useState(search.get('kind') ?? '');
  const [team, setTeam] = useState(teamPref.read());
  const [params, setParams] = useState<Record<string, unknown>>({});
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<{ message: string; activeRunId?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [repeat, setRepeat] = useState(search.get('schedule') === '1');
  const [schedule, setSchedule] = useState(initialScheduleChoice);
  const problemBox = useRef<HTMLDivElement>(null);

  // Only the kinds the caller may start somewhere: a custom role may grant single kinds (`runs:start:<kind>`).
  const startable = useMemo(() => kinds?.filter((k) => me?.choices.some((t) => may(me, t.slug, `runs:start:${k.kind}`))) ?? [], [kinds, me]);
  const info = startable.find((k) => k.kind === kind) ?? startable[0];
  const teams = useMemo(() => me?.choices.filter((t) => may(me, t.slug, `runs:start:${info?.kind ?? ''}`)) ?? [], [me, info]);

  useEffect(() => {
    if (info) setParams(initialValue(info.paramsSchema));
    setErrors([]);
  }, [info?.kind]);
  useEffect(() => {
    if (teams.length && !teams.some((t) => t.slug === team)) setTeam(teams[0]!.slug);
  }, [teams]);

  const fieldErrors = errorsByField(errors, 'params');
  const topErrors = (f: string) => errors.filter((e) => e.field === f).map((e) => e.message);

  /** Field errors: focus the first field named. Anything else: the message beside the button, focused, where the user is. */
  const show = (fields: FieldError[], other?: { message: string; activeRunId?: string }) => {
    setErrors(fields);
    setProblem(other ?? null);
    requestAnimationFrame(() => {
      const target = other ? problemBox.current : document.querySelector<HTMLElement>('.has-error input, .has-error select, .has-error textarea, .has-error button');
      target?.focus();
      target?.scrollIntoView({ block: 'center' });
    });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!info) return;
    const missing = missingRequired(info.paramsSchema, params, 'params');
    if (missing.length) return show(missing);
    setBusy(true);
    setProblem(null);
    try {
      if (repeat) {
        await post('/api/v1/schedules', { kind: info.kind, team, params, ...scheduleRequest(schedule) });
        navigate('/schedules');
      } else {
        const run = await post<RunView>('/api/v1/runs', { kind: info.kind, team, params });
        navigate(`/runs/${run.id}`);
      }
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : null;
      if (apiErr?.status === 400 && apiErr.errors.length) return show(apiErr.errors);
      const m = /\(([0-9a-f-]{36})\)/.exec(apiErr?.message ?? '');
      show([], { message: apiErr ? `${repeat ? 'The schedule was not created' : 'The run was not started'}: ${apiErr.message}.` : 'The server could not be reached; try again.', ...(m ? { activeRunId: m[1] } : {}) });
    } finally {
      setBusy(false);
    }
  };

  if (!kinds || !me) return <p aria-busy="true">Loading…</p>;
  if (teams.length === 0) return <p>You are not allowed to start runs in any team. Ask a team admin for the operator role.</p>;

  return (
    <section aria-labelledby="start-title" class="narrow">
      <h1 id="start-title">{repeat ? 'New schedule' : 'Start a run'}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate data-testid="start-form">
        <div class="row">
          <div class={`field${topErrors('kind').length ? ' has-error' : ''}`}>
            <label for="run-kind" class="label">
              Kind
            </label>
            <select id="run-kind" value={info?.kind} onChange={(e) => setKind(e.currentTarget.value)}>
              {startable.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.title}
                </option>
              ))}
            </select>
            {topErrors('kind').map((m) => (
              <p class="field-errors" key={m}>
                {m}
              </p>
            ))}
          </div>
          <div class={`field${topErrors('team').length ? ' has-error' : ''}`}>
            <label for="run-team" class="label">
              Team
            </label>
            <select id="run-team" value={team} onChange={(e) => setTeam(e.currentTarget.value)}>
              {teams.map((t) => (
                <option key={t.slug} value={t.slug}>
                  {t.name}
                </option>
              ))}
            </select>
            {topErrors('team').map((m) => (
              <p class="field-errors" key={m}>
                {m}
              </p>
            ))}
          </div>
        </div>
        {info && (
          <fieldset>
            <legend>{info.title}</legend>
            <SchemaForm key={info.kind} schema={info.paramsSchema} value={params} onChange={setParams} errors={fieldErrors} idPrefix="param" />
            {(fieldErrors.get('') ?? []).map((m) => (
              <p class="field-errors" key={m}>
                {m}
              </p>
            ))}
          </fieldset>
        )}
        <label class="label inline checkbox">
          <input type="checkbox" checked={repeat} onChange={(e) => setRepeat(e.currentTarget.checked)} data-testid="repeat" /> Repeat on a schedule
        </label>
        {repeat && <ScheduleFields value={schedule} onChange={setSchedule} errors={errors} />}
        {problem && (
          <div class="error" role="alert" tabIndex={-1} ref={problemBox} data-testid="start-problem">
            {problem.message}
            {problem.activeRunId && (
              <>
                {' '}
                <Link href={`/runs/${problem.activeRunId}`}>Open the active run</Link>
              </>
            )}
          </div>
        )}
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : repeat ? 'Create schedule' : 'Start run'}
          </button>
          <Link href="/" class="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
