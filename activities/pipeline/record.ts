import { Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { NewRunEvent } from '../../contracts/events.ts';
import { storedJobStates, storedLogOffsets } from '../../db/repositories/pipeline-builds.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import { FollowLock } from '../process/follow-lock.ts';

const BATCH = 1_000;

export type PipelineRecordDeps = { em: EntityManager; events: RunEventStore; databaseUrl: string };

/**
 * What a follow has stored of a build (every line and message through `redact` first), and the way to store more: log lines carry `{src, off}` (the
 * source, a GitHub job or a Jenkins build, and how far into it the line ends), job and step changes
 * carry `{key, state}`. A retried follow starts from what is stored, so no line is stored twice and
 * none is skipped. One attempt at a time stores (the follow lock): an attempt replaced while still
 * alive would otherwise store the same lines as its replacement.
 */
export async function openRecord(deps: PipelineRecordDeps, runId: string, redact: (text: string) => string) {
  const ctx = Context.current();
  const lock = new FollowLock(deps.databaseUrl, `pipeline:${runId}`);
  while (!(await lock.take())) {
    ctx.heartbeat();
    await ctx.sleep(500);
  }
  const em = deps.em.fork();
  const offsets = await storedLogOffsets(em, runId);
  const states = await storedJobStates(em, runId);
  const attempt = ctx.info.attempt;

  const append = async (events: NewRunEvent[]) => {
    if (events.length === 0) return;
    // The lock's connection ended (PostgreSQL restarted): take it again, or stop if another attempt has it.
    if (!lock.held && !(await lock.take())) throw new Error('another attempt follows this build now');
    await deps.events.append(runId, events);
  };

  return {
    offset: (src: string) => offsets.get(src) ?? 0,
    /** Stores the lines that end beyond what is stored for `src`, in one transaction. */
    async lines(src: string, lines: Array<{ text: string; off: number }>, data: Record<string, unknown> = {}) {
      const from = offsets.get(src) ?? 0;
      const fresh = lines.filter((l) => l.off > from);
      // In batches: a job's whole log arrives at once, and one statement has at most 65,535 parameters.
      for (let i = 0; i < fresh.length; i += BATCH) {
        const batch = fresh.slice(i, i + BATCH);
        await append(batch.map((l) => ({ type: 'log', level: 'info', stream: 'stdout', message: redact(l.text), data: { ...data, src, off: l.off }, attempt })));
        offsets.set(src, batch[batch.length - 1]!.off);
      }
    },
    /** Stores a job's or step's state when it changed since the last one stored. */
    async state(key: string, state: string, message: string, data: Record<string, unknown> = {}): Promise<boolean> {
      if (states.get(key) === state) return false;
      await append([{ type: 'step', level: state === 'failure' || state === 'FAILURE' ? 'error' : 'info', message: redact(message), data: { ...data, key, state }, attempt }]);
      states.set(key, state);
      return true;
    },
    /** Every job, stage or step state stored, in the order they first appeared. */
    states: () => states,
    release: () => lock.release(),
  };
}
export type PipelineRecord = Awaited<ReturnType<typeof openRecord>>;

/** Polls soon while the build changes and less often while it does not, up to `maxMs`. */
export function pacer(minMs: number, maxMs: number) {
  let wait = minMs;
  return {
    changed: () => void (wait = minMs),
    async pause() {
      Context.current().heartbeat();
      await Context.current().sleep(wait);
      wait = Math.min(maxMs, wait * 2);
    },
  };
}
