import type { Verification } from '../../contracts/kinds/deploy.ts';
import { deployFailure } from './failures.ts';
import { probe } from './http-check.ts';
import { queryUnder } from './prometheus.ts';

/**
 * The verification gate: every HTTP check must answer its expected status, and the Prometheus query
 * (when given) return values under its threshold, in every round, from now until `durationSeconds`
 * have passed. The first failing answer fails the gate (and the workflow rolls back).
 */
export async function verify(v: Verification, onRound: (round: number) => void, signal: AbortSignal): Promise<{ rounds: number }> {
  const end = Date.now() + v.durationSeconds * 1000;
  const timeoutMs = Math.min(10_000, Math.max(1_000, v.intervalSeconds * 1000));
  for (let round = 1; ; round++) {
    signal.throwIfAborted();
    const results = await Promise.all([
      ...v.checks.map((c) => probe(c.url, c.expectStatus, timeoutMs, signal)),
      ...(v.prometheus ? [queryUnder(v.prometheus, signal, timeoutMs)] : []),
    ]);
    const bad = results.find((r) => !r.ok);
    if (bad) throw deployFailure(`verification failed in round ${round}: ${bad.detail}`);
    onRound(round);
    if (Date.now() >= end) return { rounds: round };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(v.intervalSeconds * 1000, Math.max(0, end - Date.now())));
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}
