import type { JSX } from 'preact';
import type { RotationLayer } from '../../../../contracts/alerts/index.ts';
import type { FieldError } from '../../client/http.ts';
import { FieldMessage } from '../../components/FieldMessage.tsx';

export type Member = { id: string; label: string };
/** `weekdays` empty: every day (1 = Monday … 7 = Sunday, in the layer's zone). */
export type LayerDraft = { name: string; users: string[]; rotation: RotationLayer['rotation']; lengthDays: number; handoffTime: string; timeZone: string; start: string; weekdays: number[] };
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/** The browser's own zone, the natural default for a schedule made here. */
export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
export const TIME_ZONES = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
export const today = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

export const blankLayer = (timeZone: string, name = 'primary'): LayerDraft => ({ name, users: [], rotation: 'weekly', lengthDays: 14, handoffTime: '09:00', timeZone, start: today(), weekdays: [] });
export const draftOf = (l: RotationLayer): LayerDraft => ({ name: l.name, users: l.users, rotation: l.rotation, lengthDays: l.lengthDays ?? 14, handoffTime: l.handoffTime, timeZone: l.timeZone, start: l.start, weekdays: l.weekdays ?? [] });
/** What the API takes: lengthDays only with a custom rotation; weekdays only when not every day. */
export const layerOf = (d: LayerDraft): RotationLayer => ({
  name: d.name,
  users: d.users,
  rotation: d.rotation,
  ...(d.rotation === 'custom' ? { lengthDays: d.lengthDays } : {}),
  handoffTime: d.handoffTime,
  timeZone: d.timeZone,
  start: d.start,
  ...(d.weekdays.length > 0 && d.weekdays.length < 7 ? { weekdays: [...d.weekdays].sort((a, b) => a - b) } : {}),
});

type Props = {
  /** Unique on the page: the controls' ids start with it. */
  id: string;
  /** The API's path of this layer (`layers.2`): its field errors show beside the fields. */
  path: string;
  layer: LayerDraft;
  members: Member[];
  errors: FieldError[];
  onChange: (l: LayerDraft) => void;
  /** Whether the layer's time zone is asked here (a new schedule asks it once, for the schedule). */
  withTimeZone: boolean;
};

/**
 * One rotation layer: its name, the members in the order they take turns, how long a turn is, when
 * the handoff happens (wall-clock, in the layer's time zone) and the day the first turn starts.
 */
export function LayerFields({ id, path, layer, members, errors, onChange, withTimeZone }: Props) {
  const set = (patch: Partial<LayerDraft>) => onChange({ ...layer, ...patch });
  const nameOf = (u: string) => members.find((m) => m.id === u)?.label ?? u;
  const move = (i: number, by: number) => {
    const users = [...layer.users];
    const [u] = users.splice(i, 1);
    users.splice(i + by, 0, u!);
    set({ users });
  };
  const addable = members.filter((m) => !layer.users.includes(m.id));
  const field = (name: string, label: string, control: JSX.Element) => (
    <div class="field">
      <label class="label" for={`${id}-${name}`}>
        {label}
      </label>
      {control}
      <FieldMessage id={`${id}-${name}-err`} field={`${path}.${name}`} errors={errors} />
    </div>
  );
  return (
    <>
      {field('name', 'Layer name', <input id={`${id}-name`} value={layer.name} onInput={(e) => set({ name: e.currentTarget.value })} aria-describedby={`${id}-name-err`} />)}
      <fieldset aria-describedby={`${id}-users-err`}>
        <legend>Members, in turn order</legend>
        {layer.users.length === 0 && <p class="muted">Nobody yet: add the members who take turns.</p>}
        <ol class="layer-members" data-testid={`${id}-members`}>
          {layer.users.map((u, i) => (
            <li key={u} data-user={u}>
              {nameOf(u)}{' '}
              <button type="button" class="secondary small" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move ${nameOf(u)} earlier`}>
                ↑
              </button>
              <button type="button" class="secondary small" disabled={i === layer.users.length - 1} onClick={() => move(i, 1)} aria-label={`Move ${nameOf(u)} later`}>
                ↓
              </button>
              <button type="button" class="danger small" onClick={() => set({ users: layer.users.filter((x) => x !== u) })} aria-label={`Remove ${nameOf(u)} from the layer`}>
                Remove
              </button>
            </li>
          ))}
        </ol>
        {addable.length > 0 && (
          <label>
            Add a member
            <select value="" onChange={(e) => e.currentTarget.value && set({ users: [...layer.users, e.currentTarget.value] })}>
              <option value="">choose…</option>
              {addable.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label}
                </option>
              ))}
            </select>
          </label>
        )}
        <FieldMessage id={`${id}-users-err`} field={`${path}.users`} errors={errors} />
      </fieldset>
      {field(
        'rotation',
        'Rotation',
        <select id={`${id}-rotation`} value={layer.rotation} onChange={(e) => set({ rotation: e.currentTarget.value as LayerDraft['rotation'] })}>
          <option value="daily">Daily (a turn is one day)</option>
          <option value="weekly">Weekly (a turn is seven days)</option>
          <option value="custom">Custom length</option>
        </select>,
      )}
      {layer.rotation === 'custom' &&
        field('lengthDays', 'Days per turn', <input id={`${id}-lengthDays`} type="number" min={1} max={366} value={layer.lengthDays} onInput={(e) => set({ lengthDays: Number(e.currentTarget.value) })} aria-describedby={`${id}-lengthDays-err`} />)}
      {field('handoffTime', 'Handoff time', <input id={`${id}-handoffTime`} type="time" value={layer.handoffTime} onInput={(e) => set({ handoffTime: e.currentTarget.value })} aria-describedby={`${id}-handoffTime-err`} />)}
      {withTimeZone && <TimeZoneField id={`${id}-timeZone`} field={`${path}.timeZone`} value={layer.timeZone} errors={errors} onChange={(timeZone) => set({ timeZone })} />}
      <fieldset class="weekdays" aria-describedby={`${id}-weekdays-err`}>
        <legend>Only on these days (none ticked: every day)</legend>
        {WEEKDAYS.map((day, i) => (
          <label key={day} class="compact">
            <input type="checkbox" checked={layer.weekdays.includes(i + 1)} onChange={(e) => set({ weekdays: e.currentTarget.checked ? [...layer.weekdays, i + 1] : layer.weekdays.filter((d) => d !== i + 1) })} /> {day}
          </label>
        ))}
        <FieldMessage id={`${id}-weekdays-err`} field={`${path}.weekdays`} errors={errors} />
      </fieldset>
      {field('start', 'First turn starts on', <input id={`${id}-start`} type="date" value={layer.start} onInput={(e) => set({ start: e.currentTarget.value })} aria-describedby={`${id}-start-err`} />)}
    </>
  );
}

/** An IANA zone, typed or picked from the browser's list; the API says so beside it if it is not one. */
export function TimeZoneField({ id, field, value, errors, onChange }: { id: string; field: string; value: string; errors: FieldError[]; onChange: (z: string) => void }) {
  return (
    <div class="field">
      <label class="label" for={id}>
        Time zone
      </label>
      <input id={id} list={`${id}-zones`} value={value} onInput={(e) => onChange(e.currentTarget.value)} aria-describedby={`${id}-err`} spellcheck={false} />
      <datalist id={`${id}-zones`}>
        {TIME_ZONES.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
      <FieldMessage id={`${id}-err`} field={field} errors={errors} />
    </div>
  );
}
