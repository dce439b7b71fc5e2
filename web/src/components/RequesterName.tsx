import type { Requester } from '../../../contracts/runs.ts';

const PREFIX: Record<Requester['type'], string> = { user: '', schedule: 'Schedule ', webhook: 'Webhook ', alert: 'Alert ' };

/** Who started a run: a person's email, or what of the platform did (a schedule, a webhook, an alert). */
export function RequesterName({ requester }: { requester: Requester }) {
  return (
    <span data-requester={requester.type} title={requester.type === 'user' ? undefined : `${requester.type} ${requester.id}`}>
      {PREFIX[requester.type]}
      {requester.label}
    </span>
  );
}
