import { useState } from 'preact/hooks';
import type { OnCallScheduleView, Override, RotationLayer } from '../../../../contracts/alerts/index.ts';
import { ApiError, put, type FieldError } from '../../client/http.ts';
import { FieldMessage } from '../../components/FieldMessage.tsx';
import { LayerFields, WEEKDAYS, blankLayer, draftOf, layerOf, type LayerDraft, type Member } from './LayerFields.tsx';

const ROTATION = { daily: 'daily', weekly: 'weekly', custom: 'custom' } as const;
const describeLayer = (l: RotationLayer, nameOf: (u: string) => string) =>
  `${l.users.map(nameOf).join(' → ')}; ${l.rotation === 'custom' ? `${l.lengthDays}-day turns` : ROTATION[l.rotation]}${l.weekdays ? `, only ${l.weekdays.map((d) => WEEKDAYS[d - 1]).join(' ')}` : ''}, handoff ${l.handoffTime} ${l.timeZone}, from ${l.start}`;
const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
/** A datetime-local value (the browser's zone) as an instant; empty stays empty so the API names the field. */
const instant = (local: string) => (local && Number.isFinite(new Date(local).getTime()) ? new Date(local).toISOString() : local);

type Editing = { index: number; draft: LayerDraft } | null;

/**
 * Changes one schedule: its layers (add, edit, remove) and its overrides (add, remove). Each change is
 * one PUT of the whole schedule; what the API refuses is shown beside the field it names, and nothing
 * of that change is kept.
 */
export function ScheduleEditor({ schedule, members, onSaved }: { schedule: OnCallScheduleView; members: Member[]; onSaved: (s: OnCallScheduleView, what: string) => void }) {
  const [editing, setEditing] = useState<Editing>(null);
  // Nobody chosen until someone is: the team's members may still be loading.
  const [override, setOverride] = useState({ user: '', from: '', to: '' });
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<{ where: 'layers' | 'overrides'; message: string } | null>(null);
  const nameOf = (u: string) => members.find((m) => m.id === u)?.label ?? u;
  const zone = schedule.layers[0]?.timeZone ?? 'UTC';

  const save = async (where: 'layers' | 'overrides', change: { layers?: RotationLayer[]; overrides?: Override[] }, what: string) => {
    setProblem(null);
    try {
      // Made from the version shown: a change saved by someone else since is refused (409), not overwritten.
      const saved = await put<OnCallScheduleView>(`/api/v1/oncall/${schedule.id}`, { name: schedule.name, version: schedule.version, layers: change.layers ?? schedule.layers, overrides: change.overrides ?? schedule.overrides });
      setErrors([]);
      onSaved(saved, what);
      return true;
    } catch (err) {
      setErrors(err instanceof ApiError ? err.errors : []);
      setProblem({ where, message: (err as Error).message });
      return false;
    }
  };

  const saveLayer = async (e: Event) => {
    e.preventDefault();
    if (!editing) return;
    const layers = [...schedule.layers];
    layers.splice(editing.index, editing.index < layers.length ? 1 : 0, layerOf(editing.draft));
    if (await save('layers', { layers }, `Saved layer ${editing.draft.name}.`)) setEditing(null);
  };
  const addOverride = async (e: Event) => {
    e.preventDefault();
    const overrides = [...schedule.overrides, { user: override.user, from: instant(override.from), to: instant(override.to) }];
    if (await save('overrides', { overrides }, `Added an override for ${nameOf(override.user)}.`)) setOverride({ ...override, from: '', to: '' });
  };
  const n = schedule.overrides.length;
  const failure = (where: 'layers' | 'overrides') =>
    problem?.where === where && (
      <p class="error" role="alert">
        {problem.message}
      </p>
    );

  return (
    <div class="card" data-testid="schedule-editor" aria-labelledby="schedule-editor-title">
      <h2 id="schedule-editor-title">Change {schedule.name}</h2>
      <h3>Layers</h3>
      <p class="hint">A later layer wins where it applies; overrides win over every layer.</p>
      {failure('layers')}
      <FieldMessage id="schedule-layers-err" field="layers" errors={errors} />
      <ol class="schedule-layers">
        {schedule.layers.map((l, i) => (
          <li key={`${i}-${l.name}`} data-layer={l.name}>
            <strong>{l.name}</strong>: {describeLayer(l, nameOf)}{' '}
            <button type="button" class="secondary small" onClick={() => setEditing({ index: i, draft: draftOf(l) })} aria-label={`Edit layer ${l.name}`}>
              Edit
            </button>
            <button type="button" class="danger small" disabled={schedule.layers.length === 1} onClick={() => void save('layers', { layers: schedule.layers.filter((_, x) => x !== i) }, `Removed layer ${l.name}.`)} aria-label={`Remove layer ${l.name}`}>
              Remove
            </button>
          </li>
        ))}
      </ol>
      {editing ? (
        <form onSubmit={(e) => void saveLayer(e)} noValidate data-testid="layer-form" aria-label={editing.index < schedule.layers.length ? 'Edit layer' : 'New layer'}>
          <LayerFields id="layer" path={`layers.${editing.index}`} layer={editing.draft} members={members} errors={errors} onChange={(draft) => setEditing({ ...editing, draft })} withTimeZone />
          <div class="actions">
            <button type="submit">Save layer</button>
            <button type="button" class="secondary" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button type="button" class="secondary small" onClick={() => setEditing({ index: schedule.layers.length, draft: blankLayer(zone, `layer ${schedule.layers.length + 1}`) })}>
          Add a layer
        </button>
      )}

      <h3>Overrides</h3>
      {failure('overrides')}
      {schedule.overrides.length === 0 ? (
        <p class="muted">No overrides.</p>
      ) : (
        <ul class="schedule-overrides">
          {schedule.overrides.map((o, i) => (
            <li key={`${o.user}-${o.from}`} data-override-user={o.user}>
              {nameOf(o.user)} from {when(o.from)} until {when(o.to)}{' '}
              <button type="button" class="danger small" onClick={() => void save('overrides', { overrides: schedule.overrides.filter((_, x) => x !== i) }, `Removed the override for ${nameOf(o.user)}.`)} aria-label={`Remove the override for ${nameOf(o.user)} from ${when(o.from)}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="inline-form" onSubmit={(e) => void addOverride(e)} noValidate data-testid="override-form" aria-label="Add an override">
        <div class="field">
          <label class="label" for="override-user">
            Who
          </label>
          <select id="override-user" value={override.user} onChange={(e) => setOverride({ ...override, user: e.currentTarget.value })} aria-describedby="override-user-err">
            {!members.some((m) => m.id === override.user) && <option value={override.user}>choose…</option>}
            {members.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
          <FieldMessage id="override-user-err" field={`overrides.${n}.user`} errors={errors} />
        </div>
        <div class="field">
          <label class="label" for="override-from">
            From (your time)
          </label>
          <input id="override-from" type="datetime-local" value={override.from} onInput={(e) => setOverride({ ...override, from: e.currentTarget.value })} aria-describedby="override-from-err" />
          <FieldMessage id="override-from-err" field={`overrides.${n}.from`} errors={errors} />
        </div>
        <div class="field">
          <label class="label" for="override-to">
            Until (your time)
          </label>
          <input id="override-to" type="datetime-local" value={override.to} onInput={(e) => setOverride({ ...override, to: e.currentTarget.value })} aria-describedby="override-to-err" />
          <FieldMessage id="override-to-err" field={`overrides.${n}.to`} errors={errors} />
        </div>
        <button type="submit">Add override</button>
      </form>
    </div>
  );
}
