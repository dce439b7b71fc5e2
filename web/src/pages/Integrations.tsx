import { useEffect, useState } from 'preact/hooks';
import type { IntegrationView } from '../../../contracts/integrations/index.ts';
import { del, get, query } from '../client/http.ts';
import { may, useMe } from '../client/me.ts';
import { TeamSelect, usePageTeam } from '../components/TeamSelect.tsx';
import { IntegrationForm, type IntegrationTypeInfo } from './IntegrationForm.tsx';

/** A team's integrations: the credentials its runs use. Admins add, edit and delete them; members see their metadata. */
export function IntegrationsPage() {
  const me = useMe();
  const [team, setTeam] = usePageTeam(me);
  const [types, setTypes] = useState<IntegrationTypeInfo[]>([]);
  const [items, setItems] = useState<IntegrationView[]>([]);
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ text: string; error?: boolean } | null>(null);

  useEffect(() => void get<{ types: IntegrationTypeInfo[] }>('/api/v1/integration-types').then((r) => setTypes(r.types), () => undefined), []);
  const load = () => get<{ items: IntegrationView[] }>(`/api/v1/integrations${query({ team, limit: 200 })}`).then((r) => setItems(r.items), () => setItems([]));
  useEffect(() => {
    setEditing(null);
    if (team) void load();
  }, [team]);

  if (!me) return <p aria-busy="true">Loading…</p>;
  const manage = may(me, team, 'integrations:manage');
  const saved = (verb: string) => (i: IntegrationView) => {
    setEditing(null);
    setNotice({ text: `${verb} ${i.name}.${i.fingerprint ? ` Key fingerprint ${i.fingerprint}.` : ''}` });
    void load();
  };
  const remove = async (i: IntegrationView) => {
    if (!confirm(`Delete the integration ${i.name}? Runs can no longer use it.`)) return;
    try {
      await del(`/api/v1/integrations/${i.id}`);
      setNotice({ text: `Deleted ${i.name}.` });
      void load();
    } catch (err) {
      setNotice({ text: (err as Error).message, error: true });
    }
  };

  return (
    <section aria-labelledby="integrations-title">
      <div class="page-head">
        <h1 id="integrations-title">Integrations</h1>
        <TeamSelect me={me} team={team} onChange={setTeam} label="Team of the integrations" testId="integrations-team" />
      </div>
      {notice && (
        <p class={notice.error ? 'error' : 'notice'} role={notice.error ? 'alert' : 'status'}>
          {notice.text}
        </p>
      )}
      <div class="table-wrap card">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Target</th>
              <th scope="col">Key fingerprint</th>
              <th scope="col">Secrets stored</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {items.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No integrations in this team yet.
                </td>
              </tr>
            )}
            {items.map((i) => (
              <tr key={i.id} data-testid={`integration-${i.name}`}>
                <td data-label="Name">{i.name}</td>
                <td data-label="Type">{types.find((t) => t.type === i.type)?.title ?? i.type}</td>
                <td data-label="Target">{String(i.settings.user ?? i.settings.url ?? '')}</td>
                <td data-label="Key fingerprint">
                  <code title={i.publicKey ?? undefined}>{i.fingerprint ?? '—'}</code>
                </td>
                <td data-label="Secrets stored">{i.secretFields.join(', ')}</td>
                {manage && (
                  <td data-label="Actions" class="actions">
                    <button type="button" class="secondary small" onClick={() => setEditing(i.id)} aria-label={`Edit ${i.name}`}>
                      Edit
                    </button>
                    <button type="button" class="danger small" onClick={() => void remove(i)} aria-label={`Delete ${i.name}`}>
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {manage && types.length > 0 && editing && (
        <IntegrationForm key={editing} types={types} team={team} editing={items.find((i) => i.id === editing)} onSaved={saved('Saved')} onCancel={() => setEditing(null)} />
      )}
      {manage && types.length > 0 && !editing && <IntegrationForm key={team} types={types} team={team} onSaved={saved('Added')} />}
    </section>
  );
}
