import type { FieldError } from '../client/http.ts';

/** The start form's "repeat on a schedule" choices, as the user edits them. */
export type ScheduleChoice = { name: string; mode: 'cron' | 'every'; cron: string; everyMinutes: string; timezone: string };

export const initialScheduleChoice = (): ScheduleChoice => ({
  name: '',
  mode: 'cron',
  cron: '0 3 * * *',
  everyMinutes: '60',
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
});

/** The request's name and spec from the choices; what the API refuses comes back naming these fields. */
export function scheduleRequest(c: ScheduleChoice) {
  const spec = c.mode === 'cron' ? { cron: [c.cron.trim()], timezone: c.timezone } : { everySeconds: Math.round(Number(c.everyMinutes) * 60), timezone: c.timezone };
  return { name: c.name.trim(), spec };
}

const messages = (errors: FieldError[], ...fields: string[]) => errors.filter((e) => fields.includes(e.field)).map((e) => e.message);

function Field(props: { id: string; label: string; errors: string[]; hint?: string; children: preact.ComponentChildren }) {
  return (
    <div class={`field${props.errors.length ? ' has-error' : ''}`}>
      <label for={props.id} class="label">
        {props.label}
      </label>
      {props.children}
      {props.hint && <p class="hint">{props.hint}</p>}
      {props.errors.map((m) => (
        <p class="field-errors" key={m}>
          {m}
        </p>
      ))}
    </div>
  );
}

/** Name, cron expression or interval, and time zone of a new schedule. */
export function ScheduleFields({ value, onChange, errors }: { value: ScheduleChoice; onChange: (v: ScheduleChoice) => void; errors: FieldError[] }) {
  const set = (patch: Partial<ScheduleChoice>) => onChange({ ...value, ...patch });
  return (
    <fieldset data-testid="schedule-fields">
      <legend>Schedule</legend>
      <Field id="schedule-name" label="Schedule name" errors={messages(errors, 'name')}>
        <input id="schedule-name" value={value.name} onInput={(e) => set({ name: e.currentTarget.value })} required />
      </Field>
      <div class="row">
        <Field id="schedule-mode" label="Repeat" errors={[]}>
          <select id="schedule-mode" value={value.mode} onChange={(e) => set({ mode: e.currentTarget.value as ScheduleChoice['mode'] })}>
            <option value="cron">at cron times</option>
            <option value="every">every N minutes</option>
          </select>
        </Field>
        {value.mode === 'cron' ? (
          <Field id="schedule-cron" label="Cron expression" hint="minute hour day month weekday, e.g. 0 3 * * 1-5" errors={messages(errors, 'spec', 'spec.cron', 'spec.cron.0')}>
            <input id="schedule-cron" value={value.cron} onInput={(e) => set({ cron: e.currentTarget.value })} />
          </Field>
        ) : (
          <Field id="schedule-every" label="Minutes between runs" errors={messages(errors, 'spec', 'spec.everySeconds')}>
            <input id="schedule-every" type="number" min="1" value={value.everyMinutes} onInput={(e) => set({ everyMinutes: e.currentTarget.value })} />
          </Field>
        )}
        <Field id="schedule-tz" label="Time zone" errors={messages(errors, 'spec.timezone')}>
          <input id="schedule-tz" value={value.timezone} onInput={(e) => set({ timezone: e.currentTarget.value })} />
        </Field>
      </div>
    </fieldset>
  );
}
