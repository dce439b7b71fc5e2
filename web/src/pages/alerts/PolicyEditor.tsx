import { useState } from 'preact/hooks';
import type { EscalationStep, PolicyView } from '../../../../contracts/alerts/index.ts';
import { ApiError, post, put, type FieldError } from '../../client/http.ts';
import { STEP_TYPES, StepFields, blankStep, type StepChoices } from './StepFields.tsx';

type Draft = { name: string; isDefault: boolean; repeat: number; ackTimeoutSeconds: number; steps: EscalationStep[] };

/**
 * Creates a policy or saves a new version of one: ordered steps (notify users, notify who is on call,
 * notify a channel, wait), how many times the chain repeats, and the acknowledgement timeout. Alerts
 * already escalating keep the version they started with; the API says so and so does the page.
 */
export function PolicyEditor({ team, policy, choices, onSaved, onCancel }: { team: string; policy?: PolicyView; choices: StepChoices; onSaved: (p: PolicyView) => void; onCancel?: () => void }) {
  const [draft, setDraft] = useState<Draft>(() =>
    policy
      ? { name: policy.name, isDefault: policy.default, repeat: policy.repeat, ackTimeoutSeconds: policy.ackTimeoutSeconds, steps: policy.steps }
      : { name: '', isDefault: false, repeat: 0, ackTimeoutSeconds: 3600, steps: [blankStep('notify_users', choices)] },
  );
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });
  const setStep = (i: number, s: EscalationStep) => set({ steps: draft.steps.map((x, n) => (n === i ? s : x)) });
  const move = (i: number, by: number) => {
    const steps = [...draft.steps];
    const [s] = steps.splice(i, 1);
    steps.splice(i + by, 0, s!);
    set({ steps });
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setErrors([]);
    setMessage(null);
    const body = { name: draft.name, default: draft.isDefault, repeat: draft.repeat, ackTimeoutSeconds: draft.ackTimeoutSeconds, steps: draft.steps };
    try {
      // The version this form was opened on: if someone saved another since, the API refuses (409) and says so.
      onSaved(policy ? await put<PolicyView>(`/api/v1/escalation-policies/${policy.id}`, { ...body, version: policy.version }) : await post<PolicyView>('/api/v1/escalation-policies', { ...body, team }));
    } catch (err) {
      setMessage((err as Error).message);
      if (err instanceof ApiError) setErrors(err.errors);
    }
  };

  return (
    <form class="card policy-editor" onSubmit={(e) => void save(e)} aria-labelledby="policy-editor-title" data-testid="policy-editor">
      <h2 id="policy-editor-title">{policy ? `Edit ${policy.name} (version ${policy.version})` : 'New escalation policy'}</h2>
      {policy && <p class="hint">Saving creates version {policy.version + 1}. Alerts already escalating keep the version they started with.</p>}
      <label>
        Name
        <input value={draft.name} onInput={(e) => set({ name: e.currentTarget.value })} required />
      </label>
      <label class="compact">
        <input type="checkbox" checked={draft.isDefault} onChange={(e) => set({ isDefault: e.currentTarget.checked })} /> Default policy of the team
      </label>
      <ol class="policy-steps">
        {draft.steps.map((s, i) => (
          <li key={i} class="inline-form" data-step={i + 1}>
            <label>
              Step {i + 1} type
              <select value={s.type} onChange={(e) => setStep(i, blankStep(e.currentTarget.value as EscalationStep['type'], choices))}>
                {STEP_TYPES.map((t) => (
                  <option key={t.type} value={t.type}>
                    {t.label}
                  </option>
                ))}
              </select>
            </label>
            <StepFields n={i + 1} step={s} choices={choices} onChange={(x) => setStep(i, x)} />
            <span class="actions">
              <button type="button" class="secondary small" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move step ${i + 1} up`}>
                ↑
              </button>
              <button type="button" class="secondary small" disabled={i === draft.steps.length - 1} onClick={() => move(i, 1)} aria-label={`Move step ${i + 1} down`}>
                ↓
              </button>
              <button type="button" class="danger small" disabled={draft.steps.length === 1} onClick={() => set({ steps: draft.steps.filter((_, n) => n !== i) })} aria-label={`Remove step ${i + 1}`}>
                Remove
              </button>
            </span>
          </li>
        ))}
      </ol>
      <div class="actions">
        {STEP_TYPES.map((t) => (
          <button type="button" class="secondary small" key={t.type} onClick={() => set({ steps: [...draft.steps, blankStep(t.type, choices)] })}>
            Add: {t.label}
          </button>
        ))}
      </div>
      <label>
        Repeat the whole chain (times)
        <input type="number" min={0} max={10} value={draft.repeat} onInput={(e) => set({ repeat: Number(e.currentTarget.value) })} />
      </label>
      <label>
        Acknowledgement timeout (seconds)
        <input type="number" min={1} value={draft.ackTimeoutSeconds} onInput={(e) => set({ ackTimeoutSeconds: Number(e.currentTarget.value) })} />
      </label>
      {message && (
        <div class="error" role="alert">
          <p>{message}</p>
          {errors.length > 0 && (
            <ul class="field-errors">
              {errors.map((f) => (
                <li key={f.field}>
                  <code>{f.field}</code>: {f.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div class="actions">
        <button type="submit">{policy ? 'Save new version' : 'Create policy'}</button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
