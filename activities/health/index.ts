import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { NewRunEvent } from '../../contracts/events.ts';
import type { HealthScanParams, HealthScanSummary } from '../../contracts/kinds/health-scan.ts';
import type { Client } from '@temporalio/client';
import type { AlertAnnouncer } from '../../core/alerts/announce.ts';
import type { Logger } from '../../core/logger.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import { recordScan, type ProbeOutcome } from '../../db/repositories/monitoring.ts';
import { raiseHealthAlerts } from './alerts.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import { dockerFor, kubernetesFor } from '../integration-clients.ts';
import { probe, type PlatformClients } from './checks.ts';

export type HealthActivityDeps = { em: EntityManager; events: RunEventStore; logger: Logger; temporal: Client; keyring: Keyring } & AlertAnnouncer;
export type HealthScanInput = { runId: string; teamId: string; params: HealthScanParams };

/** How many checks of one scan probe at once, at least: few enough to be polite to the services watched. */
const PARALLEL = 10;
/** What a scan may take if every probe times out; the workflow gives the activity 10 minutes. */
const WORST_CASE_MS = 8 * 60_000;
/**
 * The lanes a scan probes its checks in: ten, or more when the checks' timeouts added up would not
 * fit WORST_CASE_MS in ten lanes (500 checks of 60 s each: 63 lanes).
 */
export const probeLanes = (checks: Array<{ timeoutMs: number }>) =>
  Math.min(checks.length, Math.max(PARALLEL, Math.ceil(checks.reduce((sum, c) => sum + c.timeoutMs, 0) / WORST_CASE_MS)));

export function createHealthActivities(deps: HealthActivityDeps) {
  return {
    /**
     * Probes every check (probeLanes at once), writes a line per check as it finishes, then counts
     * the scan into the monitor's checks (recordScan: damped, once per run) and returns the summary.
     */
    async runHealthScan(input: HealthScanInput): Promise<HealthScanSummary> {
      const { params } = input;
      const { cancellationSignal: signal, info } = Context.current();
      // Only the team's own integrations (the run's start checked the ids), each loaded once per scan.
      const load = <T extends 'docker' | 'kubernetes'>(integrationId: string, type: T) => loadIntegrationSecret(deps.em.fork(), deps.keyring, { teamId: input.teamId, integrationId, type });
      const dockers = new Map<string, ReturnType<PlatformClients['docker']>>();
      const kubes = new Map<string, ReturnType<PlatformClients['kubernetes']>>();
      const clients: PlatformClients = {
        docker: (id) => dockers.get(id) ?? dockers.set(id, load(id, 'docker').then((l) => dockerFor(l.settings, l.secrets))).get(id)!,
        kubernetes: (id) =>
          kubes.get(id) ?? kubes.set(id, load(id, 'kubernetes').then(async (l) => ({ apps: (await kubernetesFor(l.settings, l.secrets)).apps, namespace: l.settings.namespace }))).get(id)!,
      };
      // Group commit: the lines of checks that finish while an append is being stored go in the next one.
      // Probes never wait on the event store, and a scan's appends do not queue behind each other for the
      // run's sequence numbers (one append per check made 500 checks five times slower than the probes).
      let pending: NewRunEvent[] = [];
      let storeFailed: unknown;
      let storing = Promise.resolve();
      const flush = async () => {
        if (pending.length === 0) return;
        const batch = pending;
        pending = [];
        await deps.events.append(input.runId, batch);
      };
      const note = (event: NewRunEvent) => {
        pending.push(event);
        storing = storing.then(flush).catch((err: unknown) => void (storeFailed ??= err));
      };
      const entries = Object.entries(params.checks);
      const probes: ProbeOutcome[] = new Array(entries.length);
      let next = 0;
      const worker = async () => {
        while (next < entries.length) {
          const i = next++;
          const [name, check] = entries[i]!;
          const p = await probe(check, signal, clients);
          probes[i] = { name, type: check.type, ...p };
          note({ type: 'log', level: p.ok ? 'info' : 'warn', message: `${name} (${check.type}): ${p.ok ? 'ok' : 'FAILED'} — ${p.detail}`, data: { check: name, ok: p.ok, latencyMs: p.latencyMs }, attempt: info.attempt });
        }
      };
      // Beats for the whole scan: a cancel reaches the probes (they abort), and a dead worker is noticed soon.
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat({ probed: probes.filter(Boolean).length }), 5_000);
      try {
        await Promise.all(Array.from({ length: probeLanes(entries.map(([, c]) => c)) }, worker));
        await storing;
        // Probes cut short by a cancel or a worker shutting down failed for that reason, not because
        // the services are down: counting them would mark checks down and page people.
        if (signal.aborted) {
          if (ctx.cancellationDetails?.cancelRequested) throw new CancelledFailure('the scan was cancelled before its results were counted');
          throw new Error('the scan was interrupted before its results were counted (worker shutting down, or the attempt timed out); the next attempt probes again');
        }
        // A line that could not be stored fails the attempt, as before: the retry probes again.
        if (storeFailed) throw storeFailed;
        const checks = await recordScan(deps.em, { teamId: input.teamId, monitor: params.monitor, runId: input.runId, failuresBeforeDown: params.failuresBeforeDown, probes });
        const summary: HealthScanSummary = { up: checks.filter((c) => c.status === 'up').length, down: checks.filter((c) => c.status === 'down').length, changed: checks.filter((c) => c.changed).length, checks };
        return params.alertSource ? { ...summary, alerts: await raiseHealthAlerts(deps, input.teamId, params.alertSource, params.monitor, checks) } : summary;
      } finally {
        clearInterval(beat);
      }
    },
  };
}
