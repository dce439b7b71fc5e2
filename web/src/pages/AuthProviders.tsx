import { useEffect, useState } from 'preact/hooks';
import { api, get, post } from '../client/http.ts';
import { ActionMessage } from '../components/ActionMessage.tsx';
import { AdminNav } from '../components/AdminNav.tsx';
import { useApiAction } from '../form/use-api-action.ts';

type Provider = { id: string; slug: string; name: string; type: string; enabled: boolean; settings: Record<string, unknown>; secretFields: string[]; mappings: { group: string; team: string; role: string }[] };
/** A mapping held back because it would leave a team without an admin (GET /api/v1/auth/providers/:id). */
type MappingWarning = { team: string; email: string; message: string };

const EXAMPLES: Record<string, { settings: object; secrets: object }> = {
  oidc: { settings: { preset: 'generic', issuer: 'https://idp.example.com', clientId: '', scopes: ['openid', 'email', 'profile', 'groups'] }, secrets: { clientSecret: '' } },
  github: { settings: { clientId: '' }, secrets: { clientSecret: '' } },
  ldap: { settings: { url: 'ldaps://ldap.example.com', bindDn: '', userBase: '', groupBase: '' }, secrets: { bindPassword: '' } },
  saml: { settings: { entryPoint: 'https://idp.example.com/sso', idpIssuer: '' }, secrets: { idpCert: '' } },
};

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

/** A JSON text area: settings, secrets and mappings differ per type (docs/identity.md lists them). */
function JsonArea({ id, label, value, onInput }: { id: string; label: string; value: string; onInput: (v: string) => void }) {
  return (
    <>
      <label for={id} class="label">
        {label}
      </label>
      <textarea id={id} rows={6} spellcheck={false} value={value} onInput={(e) => onInput(e.currentTarget.value)} />
    </>
  );
}

function parse(text: string, field: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    throw new Error(`${field} is not valid JSON`);
  }
}

/** Sign-in providers (platform admins): add one, enable or disable it, remove it. Secrets are write-only. */
export function AuthProvidersPage() {
  const [items, setItems] = useState<Provider[]>([]);
  const [form, setForm] = useState({ slug: '', name: '', type: 'oidc', settings: pretty(EXAMPLES.oidc!.settings), secrets: pretty(EXAMPLES.oidc!.secrets), mappings: '[]' });
  const action = useApiAction();
  const [warnings, setWarnings] = useState<Record<string, MappingWarning[]>>({});
  // The list leaves warnings out (each costs a query); a platform has a handful of providers, so each is asked.
  const load = () =>
    void get<{ items: Provider[] }>('/api/v1/auth/providers').then(async (b) => {
      setItems(b.items);
      const details = await Promise.all(b.items.map((p) => get<{ warnings: MappingWarning[] }>(`/api/v1/auth/providers/${p.id}`).then((d) => [p.id, d.warnings] as const)));
      setWarnings(Object.fromEntries(details));
    });
  useEffect(load, []);
  const pickType = (type: string) => setForm({ ...form, type, settings: pretty(EXAMPLES[type]?.settings ?? {}), secrets: pretty(EXAMPLES[type]?.secrets ?? {}) });
  const create = action.submit(async () => {
    await post('/api/v1/auth/providers', { slug: form.slug, name: form.name, type: form.type, settings: parse(form.settings, 'Settings'), secrets: parse(form.secrets, 'Secrets'), mappings: parse(form.mappings, 'Mappings') });
    load();
    return `Provider ${form.name} added.`;
  });
  const toggle = (p: Provider) =>
    void action.run(async () => {
      await api('PATCH', `/api/v1/auth/providers/${p.id}`, { enabled: !p.enabled });
      load();
      return `${p.name} ${p.enabled ? 'disabled' : 'enabled'}.`;
    });
  const remove = (p: Provider) => {
    if (!confirm(`Remove ${p.name}? Its users keep their accounts; their sessions through it end at the next refresh.`)) return;
    void action.run(async () => {
      await api('DELETE', `/api/v1/auth/providers/${p.id}`);
      load();
      return `${p.name} removed.`;
    });
  };
  return (
    <section id="main" tabIndex={-1}>
      <h1>Sign-in providers</h1>
      <AdminNav />
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Mappings</th>
            <th>Stored secrets</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {items.map((p) => (
            <tr key={p.id}>
              <td>
                {p.name} <code>{p.slug}</code>
              </td>
              <td>{p.type}</td>
              <td>{p.mappings.map((m) => `${m.group} → ${m.team} (${m.role})`).join(', ') || '—'}</td>
              <td>{p.secretFields.join(', ') || '—'}</td>
              <td class="actions">
                <button type="button" class="secondary small" onClick={() => toggle(p)}>
                  {p.enabled ? 'Disable' : 'Enable'}
                </button>
                <button type="button" class="secondary small" onClick={() => remove(p)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items
        .filter((p) => warnings[p.id]?.length)
        .map((p) => (
          <div key={p.id} class="card notice" role="alert" aria-labelledby={`warnings-${p.id}`}>
            <h2 id={`warnings-${p.id}`}>{p.name}: mappings held back</h2>
            <ul>
              {warnings[p.id]!.map((w) => (
                <li key={`${w.team}:${w.email}`}>{w.message}</li>
              ))}
            </ul>
          </div>
        ))}
      <form class="card" onSubmit={create} aria-labelledby="add-provider">
        <h2 id="add-provider">Add a provider</h2>
        <label for="provider-type" class="label">
          Type
        </label>
        <select id="provider-type" value={form.type} onChange={(e) => pickType(e.currentTarget.value)}>
          <option value="oidc">OpenID Connect (Google, GitLab, Azure AD, any issuer)</option>
          <option value="github">GitHub</option>
          <option value="ldap">LDAP / Active Directory</option>
          <option value="saml">SAML 2.0</option>
        </select>
        <label for="provider-slug" class="label">
          Slug
        </label>
        <input id="provider-slug" required value={form.slug} onInput={(e) => setForm({ ...form, slug: e.currentTarget.value })} />
        <label for="provider-name" class="label">
          Name on the login page
        </label>
        <input id="provider-name" required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
        <JsonArea id="provider-settings" label="Settings (JSON)" value={form.settings} onInput={(settings) => setForm({ ...form, settings })} />
        <JsonArea id="provider-secrets" label="Secrets (JSON, never shown again)" value={form.secrets} onInput={(secrets) => setForm({ ...form, secrets })} />
        <JsonArea id="provider-mappings" label='Mappings (JSON: [{"group", "team", "role"}])' value={form.mappings} onInput={(mappings) => setForm({ ...form, mappings })} />
        <button type="submit">Add provider</button>
        <ActionMessage message={action.message} ok={action.ok} />
      </form>
    </section>
  );
}
