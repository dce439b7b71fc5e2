import { Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PipelineBuild, PipelineEnd, PipelineParams } from '../../contracts/kinds/pipeline.ts';
import { NotFoundError } from '../../core/errors.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { findPipelineBuild } from '../../db/repositories/pipeline-builds.ts';
import { redactor } from '../process/redact.ts';
import { pipelineFailure } from './http-retry.ts';
import { openRecord } from './record.ts';

export type PipelineDeps = { em: EntityManager; events: RunEventStore; keyring: Keyring; databaseUrl: string };
export type PipelineStepInput = { runId: string; teamId: string; params: PipelineParams };

/**
 * The integration's secrets as they could appear in a build's output: a step that prints its
 * environment or a verbose HTTP exchange shows the token, or Jenkins' basic-auth header.
 */
function secretForms(loaded: { settings: Record<string, unknown>; secrets: Record<string, unknown> }): string[] {
  const values = Object.values(loaded.secrets).filter((v): v is string => typeof v === 'string');
  const user = loaded.settings.user;
  const basic = typeof user === 'string' ? values.map((v) => Buffer.from(`${user}:${v}`).toString('base64')) : [];
  return [...values, ...basic];
}

/**
 * The provider's calls for a run, with the client built from the integration's secrets (its library
 * loaded on first use), and the redaction of those secrets for what the build prints.
 */
async function providerFor(deps: PipelineDeps, { runId, teamId, params }: PipelineStepInput) {
  const em = deps.em.fork();
  const loaded = await loadIntegrationSecret(em, deps.keyring, { teamId, integrationId: params.integration, type: params.provider }).catch((err: Error) => {
    // Gone or of another type is final; PostgreSQL not answering is not, and Temporal retries.
    throw err instanceof NotFoundError ? pipelineFailure(err.message) : err;
  });
  // The store checked the type against params.provider; the settings and secrets are that type's.
  const t = { integration: loaded.id, name: loaded.name, settings: loaded.settings as never, secrets: loaded.secrets as never };
  const redact = redactor(secretForms(loaded));
  if (params.provider === 'github') {
    const note = (message: string) => deps.events.append(runId, [{ type: 'step', level: 'info', message, attempt: Context.current().info.attempt }]).then(() => undefined);
    return { redact, provider: await (await import('./github.ts')).gitHubPipeline(em, runId, t, params, { databaseUrl: deps.databaseUrl, note }) };
  }
  return { redact, provider: await (await import('./jenkins.ts')).jenkinsPipeline(em, runId, t, params) };
}

/** Heartbeats every second while `fn` runs: a dead worker is noticed within the heartbeat timeout, and a cancel reaches the step. */
async function beating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), 1_000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

export function createPipelineActivities(deps: PipelineDeps) {
  return {
    /**
     * Triggers the pipeline once per run (docs/pipeline.md). Null while Jenkins holds it in the queue:
     * that wait is pipelineAwaitBuild's, which a cancel can interrupt.
     */
    async pipelineTrigger(input: PipelineStepInput): Promise<PipelineBuild | null> {
      return beating(async () => (await providerFor(deps, input)).provider.trigger());
    },

    /** Jenkins: waits for the run's queue item to become a build; null when it was cancelled in the queue. */
    async pipelineAwaitBuild(input: PipelineStepInput): Promise<PipelineBuild | null> {
      return beating(async () => {
        const { provider } = await providerFor(deps, input);
        if (!('awaitBuild' in provider)) throw new Error('only Jenkins builds wait in a queue');
        return provider.awaitBuild();
      });
    },

    /** Follows the build to its end from what is already stored, and says how it ended. */
    async pipelineFollow(input: PipelineStepInput & { build: PipelineBuild }): Promise<PipelineEnd> {
      return beating(async () => {
        const { provider, redact } = await providerFor(deps, input);
        const record = await openRecord(deps, input.runId, redact);
        try {
          return await provider.follow(input.build, record);
        } finally {
          await record.release();
        }
      });
    },

    /**
     * Asks the CI system to cancel the build (or take its item off Jenkins' queue), and answers the
     * build to follow to its end: null when none ever started.
     */
    async pipelineCancel(input: PipelineStepInput & { build: PipelineBuild | null }): Promise<PipelineBuild | null> {
      return beating(async () => {
        const { provider } = await providerFor(deps, input);
        if ('awaitBuild' in provider) return provider.cancel(input.build);
        const found = input.build ? null : await findPipelineBuild(deps.em.fork(), input.runId);
        const build = input.build ?? (found?.buildId ? { id: found.buildId, url: found.buildUrl ?? '' } : null);
        return build ? provider.cancel(build) : null;
      });
    },
  };
}
