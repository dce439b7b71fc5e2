import { useState } from 'preact/hooks';
import type { OnCallScheduleView } from '../../../../contracts/alerts/index.ts';
import { ApiError, post, type FieldError } from '../../client/http.ts';
import { FieldMessage } from '../../components/FieldMessage.tsx';
import { LayerFields, TimeZoneField, blankLayer, browserZone, layerOf, type LayerDraft, type Member } from './LayerFields.tsx';

/**
 * A new schedule: its name, its time zone and its first layer (a schedule always has one). The time
 * zone is the layer's; layers added later start with it too.
 */
export function NewScheduleForm({ team, members, onCreated }: { team: string; members: Member[]; onCreated: (s: OnCallScheduleView) => void }) {
  const [name, setName] = useState('');
  const [layer, setLayer] = useState<LayerDraft>(() => blankLayer(browserZone()));
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const created = await post<OnCallScheduleView>('/api/v1/oncall', { team, name, layers: [layerOf(layer)], overrides: [] });
      setErrors([]);
      setName('');
      setLayer(blankLayer(layer.timeZone));
      onCreated(created);
    } catch (err) {
      setErrors(err instanceof ApiError ? err.errors : []);
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-schedule-title" data-testid="new-schedule">
      <h2 id="new-schedule-title">New on-call schedule</h2>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <div class="field">
        <label class="label" for="new-schedule-name">
          Schedule name
        </label>
        <input id="new-schedule-name" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-describedby="new-schedule-name-err" />
        <FieldMessage id="new-schedule-name-err" field="name" errors={errors} />
      </div>
      <TimeZoneField id="new-schedule-timeZone" field="layers.0.timeZone" value={layer.timeZone} errors={errors} onChange={(timeZone) => setLayer({ ...layer, timeZone })} />
      <h3>First layer</h3>
      <LayerFields id="new-schedule-layer" path="layers.0" layer={layer} members={members} errors={errors} onChange={setLayer} withTimeZone={false} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create schedule
        </button>
      </div>
    </form>
  );
}
