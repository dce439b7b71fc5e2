import { useEffect, useState } from 'preact/hooks';
import { onMfaRefusal } from '../client/http.ts';
import { mfaBlockedTeams, useMe } from '../client/me.ts';
import { Link, useLocation } from '../router.tsx';

/**
 * Tells a member held back by a team's "require MFA" policy what is going on and where to fix it: a
 * standing notice naming the teams, and, when the API refuses an action for that reason (on any
 * page), its refusal announced with the same way out. Enrolling reloads /me, which clears both.
 */
export function MfaNotice() {
  const me = useMe();
  const { path } = useLocation();
  const [refusal, setRefusal] = useState<string | null>(null);
  useEffect(() => onMfaRefusal(setRefusal), []);
  useEffect(() => setRefusal(null), [me]);
  const teams = mfaBlockedTeams(me);
  if (!teams.length && !refusal) return null;
  const names = teams.map((t) => t.name).join(', ');
  return (
    <div class={refusal ? 'error mfa-notice' : 'notice mfa-notice'} role={refusal ? 'alert' : 'status'} data-testid="mfa-notice">
      {refusal ? (
        <p>
          <strong>Refused: two-factor authentication is required.</strong> {refusal.charAt(0).toUpperCase() + refusal.slice(1)}.
        </p>
      ) : (
        <p>
          <strong>Two-factor authentication required.</strong> {teams.length === 1 ? `The team ${names} requires` : `The teams ${names} require`} a second factor: until you set one up you can
          see {teams.length === 1 ? 'its' : 'their'} runs but not act there.
        </p>
      )}
      {path === '/account' ? (
        <a href="#account-mfa">Set up two-factor authentication below</a>
      ) : (
        <Link href="/account#account-mfa" class="button">
          Set up two-factor authentication
        </Link>
      )}
    </div>
  );
}
