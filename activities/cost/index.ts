import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CostActionParams, CostActionResult } from '../../contracts/kinds/cost-action.ts';
import type { CostScanParams, CostScanSummary } from '../../contracts/kinds/cost-scan.ts';
import type { SecretsOf, SettingsOf } from '../../contracts/integrations/index.ts';
import { NotFoundError } from '../../core/errors.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { Logger } from '../../core/logger.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import type { AlertAnnouncer } from '../../core/alerts/announce.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { linkFindingAction, recordCostScan } from '../../db/repositories/costs.ts';
import { asAwsFailure } from './aws-errors.ts';
import { azureClient } from './azure-client.ts';
import { raiseCostAlerts } from './alerts.ts';
import { asCloudFailure, refused } from './cloud-errors.ts';
import { gcpClient } from './gcp-client.ts';
import { azureProvider, gcpProvider, type ActionProgress, type CostProvider } from './provider.ts';

export type CostActivityDeps = { em: EntityManager; events: RunEventStore; logger: Logger; keyring: Keyring; temporal: Client } & Pick<AlertAnnouncer, 'redis' | 'keys'>;
export type CostScanInput = { runId: string; teamId: string; params: CostScanParams };
export type CostActionInput = { runId: string; teamId: string; params: CostActionParams };

export function createCostActivities(deps: CostActivityDeps) {
  /**
   * The account's provider for one activity call (the integration's type picks the cloud), and its name
   * for messages; a missing integration, or one of another type, stops the run.
   */
  const open = async <T>(teamId: string, integrationId: string, runId: string, use: (p: CostProvider, name: string) => Promise<T>): Promise<T> => {
    const loaded = await loadIntegrationSecret(deps.em.fork(), deps.keyring, { teamId, integrationId }).catch((err: unknown) => {
      throw err instanceof NotFoundError ? refused(err.message) : err;
    });
    const cloud = await (async (): Promise<{ provider: CostProvider; failure: (err: unknown) => unknown; close?: () => void } | null> => {
      switch (loaded.type) {
        case 'aws': {
          // The AWS SDK (about 70 MB of a worker's memory) loads on a worker's first AWS cost run.
          const [{ awsClients }, { awsProvider }] = await Promise.all([import('./aws-clients.ts'), import('./aws-provider.ts')]);
          const clients = awsClients({ settings: loaded.settings as SettingsOf<'aws'>, secrets: loaded.secrets as SecretsOf<'aws'>, sessionName: `opssight-${runId}` });
          return { provider: awsProvider(clients), failure: (err) => asAwsFailure(err, loaded.name), close: clients.destroy };
        }
        case 'azure':
          return { provider: azureProvider(azureClient(loaded.settings as SettingsOf<'azure'>, loaded.secrets as SecretsOf<'azure'>)), failure: (err) => asCloudFailure(err, 'Azure', loaded.name) };
        case 'gcp':
          return { provider: gcpProvider(gcpClient(loaded.settings as SettingsOf<'gcp'>, loaded.secrets as SecretsOf<'gcp'>)), failure: (err) => asCloudFailure(err, 'Google Cloud', loaded.name) };
        default:
          return null;
      }
    })();
    if (!cloud) throw refused(`integration "${loaded.name}" is of type ${loaded.type}: a cost run needs an aws, azure or gcp integration`);
    try {
      return await use(cloud.provider, loaded.name);
    } catch (err) {
      throw cloud.failure(err);
    } finally {
      cloud.close?.();
    }
  };
  const log = (runId: string, message: string, data?: Record<string, unknown>) =>
    deps.events.append(runId, [{ type: 'log', level: 'info', message, ...(data ? { data } : {}), attempt: Context.current().info.attempt }]);

  return {
    /**
     * Reads the account (every region, then Cost Explorer), counts the findings once per run
     * (recordCostScan), raises alerts, and returns the summary. Read-only towards the cloud, so a retry repeats it.
     */
    async runCostScan(input: CostScanInput): Promise<CostScanSummary> {
      const { params, runId, teamId } = input;
      // A large account takes minutes of Describe* and GetMetricData pages before anything is counted:
      // beating meanwhile, the 5-minute heartbeat timeout catches a dead worker, not a big account
      // (which it used to time out, starting a second attempt beside the first).
      const heartbeat = setInterval(() => Context.current().heartbeat(), 10_000);
      try {
        return await open(teamId, params.integration, runId, async (cloud, account) => {
          const observed = (await Promise.all(cloud.regions.map((region) => cloud.findWaste(region, params)))).flat();
          const totals = await cloud.monthToDate(params.teamTag, params.monthlyBudget ?? null);
          await log(runId, `${account}: month to date ${totals.monthToDate.toFixed(2)} ${totals.currency}, forecast ${totals.forecast.toFixed(2)}; ${observed.length} finding(s) in ${cloud.regions.join(', ')}`);
          // A region the cloud could not list completely resolves nothing: its missing resources were not
          // seen, not removed, and resolving them would count savings never made (and reopen them next scan).
          const unreached = (await cloud.unreached?.()) ?? { regions: [], scopes: [] };
          if (unreached.scopes.length) await log(runId, `${account}: could not read ${unreached.scopes.join(', ')}; open findings in ${unreached.regions.join(', ')} stay open until a scan reads them`, { unreachable: unreached.scopes });
          const regions = cloud.regions.filter((r) => !unreached.regions.includes(r));
          const outcome = await recordCostScan(deps.em, { teamId, integrationId: params.integration, runId, at: new Date(), regions, observed, totals });
          for (const f of outcome.opened) await log(runId, `new: ${f.type} ${f.resourceId} (${f.region}) — ${f.detail}; about ${f.monthlySavings.toFixed(2)} USD a month`, { finding: f.id });
          for (const f of outcome.resolved) await log(runId, `resolved: ${f.type} ${f.resourceId} (${f.region}) — ${f.realisedMonthlySavings?.toFixed(2)} USD a month saved`, { finding: f.id });
          const alerts = await raiseCostAlerts(deps, { teamId, account, params, totals, opened: outcome.opened, resolved: outcome.resolved });
          const sum = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) * 100) / 100;
          return {
            account,
            totals,
            findings: {
              open: outcome.open.length,
              new: outcome.opened.length,
              resolved: outcome.resolved.length,
              estimatedMonthlySavings: sum(outcome.open.map((f) => f.monthlySavings)),
              realisedMonthlySavings: sum(outcome.resolved.map((f) => f.realisedMonthlySavings ?? 0)),
            },
            alerts,
          };
        });
      } finally {
        clearInterval(heartbeat);
      }
    },

    /** The approved action, at most once in effect: each action first reads the resource's own state (aws-, azure-, gcp-actions.ts). */
    async runCostAction(input: CostActionInput): Promise<CostActionResult> {
      const { params, runId, teamId } = input;
      if (params.finding && !(await linkFindingAction(deps.em, { findingId: params.finding, teamId, integrationId: params.integration, resourceId: params.resourceId, runId }))) {
        throw refused(`params.finding: ${params.finding} is no finding of this team's integration ${params.integration} on ${params.resourceId}; nothing was done`);
      }
      const { info } = Context.current();
      // Every beat carries what the action saved (a beat without details would erase them for the next
      // attempt), starting with what the previous attempt saved.
      let details: unknown = info.heartbeatDetails;
      const heartbeat = setInterval(() => Context.current().heartbeat(details), 1_000);
      const progress: ActionProgress = {
        attempt: info.attempt,
        previous: info.heartbeatDetails,
        save: (saved) => {
          details = saved;
          Context.current().heartbeat(details);
        },
      };
      try {
        return await open(teamId, params.integration, runId, async (cloud) => {
          const result = await cloud.act(params, runId, Context.current().cancellationSignal, progress);
          await log(runId, result.detail, { outcome: result.outcome, ...(result.snapshotId ? { snapshotId: result.snapshotId } : {}) });
          return result;
        });
      } finally {
        clearInterval(heartbeat);
      }
    },
  };
}
