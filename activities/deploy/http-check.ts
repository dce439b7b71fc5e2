/** One HTTP probe: the status it answered, or why it did not. Throws only when `signal` is aborted (a cancel). */
export type ProbeResult = { ok: boolean; detail: string };

export async function probe(url: string, expectStatus: number, timeoutMs = 2_000, signal?: AbortSignal): Promise<ProbeResult> {
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  try {
    const res = await fetch(url, { signal: AbortSignal.any(signals), redirect: 'manual' });
    await res.body?.cancel();
    return { ok: res.status === expectStatus, detail: `${url} answered ${res.status}${res.status === expectStatus ? '' : ` (expected ${expectStatus})`}` };
  } catch (err) {
    // A cancel is not a failed check: reported as one, it would fail the deploy (and roll back) for a
    // reason that is not true, where the run should end cancelled.
    signal?.throwIfAborted();
    const code = (err as { cause?: { code?: string } }).cause?.code;
    const why = code ?? ((err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message);
    return { ok: false, detail: `${url}: ${why}` };
  }
}
