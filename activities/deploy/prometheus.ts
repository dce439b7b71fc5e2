import type { z } from 'zod';
import type { prometheusCheckSchema } from '../../contracts/kinds/deploy.ts';
import type { ProbeResult } from './http-check.ts';

export type PrometheusCheck = z.infer<typeof prometheusCheckSchema>;

type Sample = [number, string];
type QueryAnswer =
  | { status: 'success'; data: { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: Sample }> } | { resultType: 'scalar'; result: Sample } | { resultType: string; result: unknown } }
  | { status: 'error'; errorType: string; error: string };

const seriesName = (metric: Record<string, string>) => {
  const { __name__: name = '', ...labels } = metric;
  const inner = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  return inner ? `${name}{${inner}}` : name;
};

/**
 * One instant query through Prometheus's HTTP API (GET /api/v1/query): ok when it returned data and
 * every value is below the threshold. Throws only when `signal` is aborted; `badQuery` marks an answer no retry will change
 * (Prometheus's `bad_data`: the PromQL does not parse).
 */
export async function queryUnder(p: PrometheusCheck, signal?: AbortSignal, timeoutMs = 5_000): Promise<ProbeResult & { badQuery?: boolean }> {
  const url = `${p.url.replace(/\/$/, '')}/api/v1/query?${new URLSearchParams({ query: p.query })}`;
  const what = `Prometheus query ${p.query}`;
  let answer: QueryAnswer;
  try {
    const res = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]), redirect: 'manual', headers: { accept: 'application/json' } });
    const text = await res.text();
    try {
      answer = JSON.parse(text) as QueryAnswer;
    } catch {
      return { ok: false, detail: `${what}: ${p.url} answered ${res.status}, not the Prometheus API` };
    }
  } catch (err) {
    // A cancel is not a failed query (see probe in http-check.ts).
    signal?.throwIfAborted();
    const code = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, detail: `${what}: ${p.url} ${code ?? ((err as Error).name === 'TimeoutError' ? `gave no answer within ${timeoutMs} ms` : (err as Error).message)}` };
  }
  if (answer.status !== 'success') return { ok: false, detail: `${what} was refused (${answer.errorType}): ${answer.error}`, badQuery: answer.errorType === 'bad_data' };
  const samples: Array<{ name: string; value: number }> =
    answer.data.resultType === 'vector'
      ? (answer.data.result as Array<{ metric: Record<string, string>; value: Sample }>).map((r) => ({ name: seriesName(r.metric), value: Number(r.value[1]) }))
      : answer.data.resultType === 'scalar'
        ? [{ name: 'scalar', value: Number((answer.data.result as Sample)[1]) }]
        : [];
  if (answer.data.resultType !== 'vector' && answer.data.resultType !== 'scalar') return { ok: false, detail: `${what} returned a ${answer.data.resultType}; give an instant vector or scalar`, badQuery: true };
  if (samples.length === 0) return { ok: false, detail: `${what} returned no data` };
  // NaN (0/0 without traffic) is not "under" anything: it fails like a value over the threshold.
  const over = samples.find((s) => !(s.value < p.threshold));
  if (over) return { ok: false, detail: `${what} returned ${over.name ? `${over.name} = ` : ''}${over.value}, not under ${p.threshold}` };
  return { ok: true, detail: `${what} returned ${samples.map((s) => `${s.value}`).join(', ')}, under ${p.threshold}` };
}
