import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RunSchema } from './run.ts';

/**
 * One launch of an external process for a run (a terraform apply, a playbook). The row is written
 * before the process starts and is unique per (run, step, command, launch): a step can start its
 * command once per launch number, which is how "at most one apply of a saved plan" holds even when
 * workers die mid-way. Any later attempt, on any worker, finds the row and decides from it (attach
 * to the live process on its host, or ask the external system what happened) instead of starting again.
 */
export const RunProcessSchema = defineEntity({
  name: 'RunProcess',
  tableName: 'run_processes',
  uniques: [{ properties: ['run', 'step', 'command', 'launch'], name: 'run_processes_launch_unique' }],
  properties: {
    id: p.uuid().primary(),
    run: () => p.manyToOne(RunSchema).deleteRule('cascade'),
    /** The workflow's name for the unit of work, stable across activity attempts (e.g. `apply-<planId>`). */
    step: p.string(),
    command: p.string(),
    launch: p.integer(),
    /** Whether the command changes the world: a launch that vanished without an exit code must then be judged, not repeated. */
    sideEffects: p.boolean(),
    /** The worker host whose disk holds the process's output and control files. */
    hostId: p.string(),
    dir: p.text(),
    startedAt: p.datetime().onCreate(() => new Date()),
    exitCode: p.integer().nullable(),
    /** exited | lost | killed | superseded: how the launch ended, once someone knows. */
    outcome: p.string().nullable(),
    endedAt: p.datetime().nullable(),
  },
});
export type RunProcess = InferEntity<typeof RunProcessSchema>;
