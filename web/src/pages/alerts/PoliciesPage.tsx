import { useEffect, useState } from 'preact/hooks';
import type { PolicyView } from '../../../../contracts/alerts/index.ts';
import type { IntegrationView } from '../../../../contracts/integrations/index.ts';
import { get, query } from '../../client/http.ts';
import { may, useMe } from '../../client/me.ts';
import { TeamSelect, usePageTeam } from '../../components/TeamSelect.tsx';
import { formatTime } from '../../format.ts';
import { Link } from '../../router.tsx';
import { PolicyEditor } from './PolicyEditor.tsx';
import { STEP_TYPES, type StepChoices } from './StepFields.tsx';

/** Integration types that deliver a notification (a channel step); the rest hold credentials for runs. */
const CHANNEL_TYPES = new Set(['smtp', 'webhook', 'slack', 'slack-webhook', 'pagerduty', 'twilio', 'fcm', 'apns']);
/** Channels a notify-people step can use, and what of each person's they reach. */
const PERSONAL: Record<string, string> = { smtp: 'email', twilio: 'SMS to their phone', apns: 'push to their devices', fcm: 'push to their devices' };

async function loadChoices(team: string): Promise<StepChoices> {
  const [members, integrations, schedules] = await Promise.all([
    get<{ items: { userId: string; name: string; email: string }[] }>(`/api/v1/teams/${team}/members`),
    get<{ items: IntegrationView[] }>(`/api/v1/integrations${query({ team, limit: 200 })}`),
    get<{ schedules: { id: string; name: string }[] }>(`/api/v1/oncall${query({ team })}`),
  ]);
  return {
    members: members.items.map((m) => ({ id: m.userId, label: `${m.name} <${m.email}>` })),
    personal: integrations.items.filter((i) => i.type in PERSONAL).map((i) => ({ id: i.id, label: `${i.name} (${PERSONAL[i.type]})` })),
    channels: integrations.items.filter((i) => CHANNEL_TYPES.has(i.type)).map((i) => ({ id: i.id, label: `${i.name} (${i.type})` })),
    schedules: schedules.schedules.map((s) => ({ id: s.id, label: s.name })),
  };
}

/** A team's escalation policies; those with `alerts:manage` create them and save new versions. */
export function PoliciesPage() {
  const me = useMe();
  const [team, setTeam] = usePageTeam(me);
  const [policies, setPolicies] = useState<PolicyView[] | null>(null);
  const [choices, setChoices] = useState<StepChoices | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const load = () => get<{ policies: PolicyView[] }>(`/api/v1/escalation-policies${query({ team })}`).then((r) => setPolicies(r.policies), () => setPolicies([]));
  useEffect(() => {
    if (!team) return;
    setEditing(null);
    setChoices(null);
    void load();
    void loadChoices(team).then(setChoices, () => undefined);
  }, [team]);

  const manage = may(me, team, 'alerts:manage');
  const saved = (p: PolicyView) => {
    setEditing(null);
    setNotice(`Saved ${p.name}, version ${p.version}.`);
    void load();
  };
  const describe = (p: PolicyView) => p.steps.map((s) => (s.type === 'wait' ? `wait ${s.seconds} s` : STEP_TYPES.find((t) => t.type === s.type)!.label.toLowerCase())).join(' → ');

  return (
    <section aria-labelledby="policies-title">
      <p class="crumbs">
        <Link href="/alerts">Alerts</Link>
      </p>
      <div class="page-head">
        <h1 id="policies-title">Escalation policies</h1>
        <TeamSelect me={me} team={team} onChange={setTeam} label="Team of the policies" testId="policies-team" />
      </div>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <div class="table-wrap card">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Steps</th>
              <th scope="col">Repeat</th>
              <th scope="col">Updated</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {policies?.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No escalation policies in this team yet.
                </td>
              </tr>
            )}
            {policies?.map((p) => (
              <tr key={p.id} data-policy={p.name}>
                <td data-label="Name">
                  {p.name} {p.default && <span class="badge">default</span>}
                </td>
                <td data-label="Version" data-testid="policy-version">
                  {p.version}
                </td>
                <td data-label="Steps">{describe(p)}</td>
                <td data-label="Repeat">{p.repeat}</td>
                <td data-label="Updated">{formatTime(p.updatedAt)}</td>
                {manage && (
                  <td data-label="Actions">
                    <button type="button" class="secondary small" onClick={() => setEditing(p.id)} aria-label={`Edit ${p.name}`}>
                      Edit
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {manage && choices && editing && (
        <PolicyEditor key={editing} team={team} policy={policies?.find((p) => p.id === editing)} choices={choices} onSaved={saved} onCancel={() => setEditing(null)} />
      )}
      {manage && choices && !editing && <PolicyEditor key={team} team={team} choices={choices} onSaved={saved} />}
    </section>
  );
}
