import type { EscalationStep } from '../../../../contracts/alerts/index.ts';

export type Choice = { id: string; label: string };
/** `personal`: channels that reach each person at their own address (email, phone, devices). */
export type StepChoices = { members: Choice[]; personal: Choice[]; channels: Choice[]; schedules: Choice[] };
export const STEP_TYPES: { type: EscalationStep['type']; label: string }[] = [
  { type: 'notify_users', label: 'Notify users' },
  { type: 'notify_oncall', label: 'Notify who is on call' },
  { type: 'notify_channel', label: 'Notify a channel' },
  { type: 'wait', label: 'Wait' },
];

/** A new step of `type`, its references set to the team's first fitting choice. */
export function blankStep(type: EscalationStep['type'], c: StepChoices): EscalationStep {
  const via = c.personal[0]?.id ?? '';
  if (type === 'notify_users') return { type, users: [], via };
  if (type === 'notify_oncall') return { type, schedule: c.schedules[0]?.id ?? '', via };
  if (type === 'notify_channel') return { type, integration: c.channels[0]?.id ?? '' };
  return { type: 'wait', seconds: 300 };
}

function Select({ label, value, choices, onChange }: { label: string; value: string; choices: Choice[]; onChange: (v: string) => void }) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {!choices.some((c) => c.id === value) && <option value={value}>{value ? 'not of this team' : 'choose…'}</option>}
        {choices.map((c) => (
          <option key={c.id} value={c.id}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The fields of one step; `n` numbers the labels so each control has a unique accessible name. */
export function StepFields({ n, step, choices, onChange }: { n: number; step: EscalationStep; choices: StepChoices; onChange: (s: EscalationStep) => void }) {
  const via = (s: Extract<EscalationStep, { via: string }>) => <Select label={`Step ${n} reaches them through`} value={s.via} choices={choices.personal} onChange={(v) => onChange({ ...s, via: v })} />;
  switch (step.type) {
    case 'notify_users':
      return (
        <>
          <fieldset class="inline-form">
            <legend>Step {n} users</legend>
            {choices.members.map((m) => (
              <label key={m.id} class="compact">
                <input
                  type="checkbox"
                  checked={step.users.includes(m.id)}
                  onChange={(e) => onChange({ ...step, users: e.currentTarget.checked ? [...step.users, m.id] : step.users.filter((u) => u !== m.id) })}
                />{' '}
                {m.label}
              </label>
            ))}
          </fieldset>
          {via(step)}
        </>
      );
    case 'notify_oncall':
      return (
        <>
          <Select label={`Step ${n} schedule`} value={step.schedule} choices={choices.schedules} onChange={(v) => onChange({ ...step, schedule: v })} />
          {via(step)}
        </>
      );
    case 'notify_channel':
      return <Select label={`Step ${n} channel`} value={step.integration} choices={choices.channels} onChange={(v) => onChange({ ...step, integration: v })} />;
    case 'wait':
      return (
        <label>
          Step {n} wait (seconds)
          <input type="number" min={1} value={step.seconds} onInput={(e) => onChange({ ...step, seconds: Number(e.currentTarget.value) })} />
        </label>
      );
  }
}
