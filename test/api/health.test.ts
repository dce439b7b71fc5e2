import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../peers/temporal.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

type Detailed = { status: string; checks: Record<'postgres' | 'redis' | 'temporal', { status: string; latencyMs: number; error?: string }> };

describe('health', () => {
  it('GET /health answers without touching any dependency', async () => {
    const res = await fetch(`${api.baseUrl}/health`, { headers: { 'x-request-id': 'probe-7' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect([res.headers.get('content-type'), res.headers.get('cache-control'), res.headers.get('x-content-type-options'), res.headers.get('x-request-id')]).toEqual([
      'application/json; charset=utf-8', 'no-store', 'nosniff', 'probe-7',
    ]);
    const head = await fetch(`${api.baseUrl}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    // Only GET and HEAD are liveness; anything else is the stack's 405, as on every route.
    const post = await fetch(`${api.baseUrl}/health`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')?.split(', ').sort()]).toEqual([405, ['GET', 'HEAD']]);
  });

  it('GET /health/detailed reports PostgreSQL, Redis and Temporal up, each with its latency', async () => {
    const res = await fetch(`${api.baseUrl}/health/detailed`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Detailed;
    expect(body.status).toBe('ok');
    for (const name of ['postgres', 'redis', 'temporal'] as const) {
      expect(body.checks[name].status).toBe('up');
      expect(body.checks[name].latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('GET /health/detailed answers 503 naming Redis when Redis is unreachable', async () => {
    const closedPort = await freePort();
    const broken = await startApi({ REDIS_URL: `redis://127.0.0.1:${closedPort}/0` });
    try {
      const res = await fetch(`${broken.baseUrl}/health/detailed`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as Detailed;
      expect(body.status).toBe('degraded');
      expect(body.checks.redis.status).toBe('down');
      expect(body.checks.redis.error).toBeTruthy();
      expect(body.checks.postgres.status).toBe('up');
      expect(body.checks.temporal.status).toBe('up');
      // Liveness does not depend on Redis.
      expect((await fetch(`${broken.baseUrl}/health`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('GET /metrics exposes HTTP and WebSocket metrics in the Prometheus text format', async () => {
    await fetch(`${api.baseUrl}/health/detailed`);
    await fetch(`${api.baseUrl}/health`);
    const res = await fetch(`${api.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^opssight_http_request_duration_seconds_count\{method="GET",route="\/health\/detailed",status="200"\} [1-9]/m);
    // Liveness probes are left out: they would swamp the routes people use.
    expect(text).not.toMatch(/route="\/health"/);
    expect(text).toContain('# TYPE opssight_ws_connections gauge');
    expect(text).toContain('# TYPE opssight_ws_messages_total counter');
    expect(text).toContain('# TYPE opssight_ws_disconnects_total counter');
  });
});
