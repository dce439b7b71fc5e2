import { KINDS } from '../contracts/kinds/index.ts';
import { TASK_QUEUES } from '../contracts/temporal.ts';

/**
 * The queues a worker polls: those WORKER_QUEUES names, else every queue a kind of run uses. A queue
 * is where its kinds' workflows and activities run, so a deployment can run the `delivery` queue next to
 * the clusters it deploys to and `infra` where Terraform's state database is reachable.
 */
export function queuesToServe(configured: readonly string[] | undefined): string[] {
  const known = new Set<string>(Object.values(TASK_QUEUES));
  if (configured && configured.length > 0) {
    const unknown = configured.filter((q) => !known.has(q));
    if (unknown.length) throw new Error(`WORKER_QUEUES: unknown queue ${unknown.join(', ')}; the queues are ${[...known].join(', ')}`);
    return [...new Set(configured)];
  }
  // Alert escalations run on `notifications` (workflows/escalation.ts), which no kind of run uses.
  const used = [...new Set([...Object.values(KINDS).map((k) => k.taskQueue), TASK_QUEUES.notifications])];
  // The infra queue also carries the platform's own housekeeping (the run reconciler).
  return used.includes(TASK_QUEUES.infra) ? [TASK_QUEUES.infra, ...used.filter((q) => q !== TASK_QUEUES.infra)] : [TASK_QUEUES.infra, ...used];
}
