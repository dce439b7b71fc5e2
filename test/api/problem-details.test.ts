import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import { errorMapper } from '../../api/middleware/errors.ts';
import { ConflictError, DomainError } from '../../core/errors.ts';
import { createLogger } from '../../core/logger.ts';
import { RunSchema } from '../../db/entities/index.ts';
import { findRun } from '../../db/repositories/runs.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// RFC 9457: `status` is the HTTP status and `type`, `title`, `detail`, `instance` keep their meaning;
// whatever an error adds (a run's status, the field errors) comes beside them, never over them.
let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

describe('problem+json', () => {
  it('a 409 about a run carries the HTTP status in `status` and the run’s in `runStatus`', async () => {
    const runId = await createRunRow(api.deps.db.em);
    const em = api.deps.db.em.fork();
    await em.nativeUpdate(RunSchema, { id: runId }, { status: 'succeeded' });
    const owner = (await findRun(em, runId))!.requestedBy as unknown as { id: string };
    const res = await client(api, await tokenFor(api, owner.id)).post(`/api/v1/runs/${runId}/cancel`);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ type: 'about:blank', title: 'Conflict', status: 409, instance: `/api/v1/runs/${runId}/cancel`, runStatus: 'succeeded' });
  });

  it('no extra member of an error can replace type, title, status, detail or instance', async () => {
    // The real error mapper in a Koa app of its own, so the error can carry any members at all.
    const app = new Koa();
    app.use(errorMapper(createLogger({ level: 'silent', name: 'test' })));
    app.use((ctx) => {
      if (ctx.path === '/conflict') throw new ConflictError('the run is busy', { status: 'running', type: 'https://evil.test', title: 'OK', detail: 'fine', instance: '/elsewhere', runStatus: 'running' });
      throw new DomainError(422, 'Unprocessable', 'nope', { status: 200, errors: [{ field: 'x', message: 'bad' }] });
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const conflict = await fetch(`${base}/conflict`);
      expect(conflict.status).toBe(409);
      expect(await conflict.json()).toEqual({ type: 'about:blank', title: 'Conflict', status: 409, detail: 'the run is busy', instance: '/conflict', runStatus: 'running' });
      const other = await fetch(`${base}/other`);
      expect(other.status).toBe(422);
      expect(await other.json()).toEqual({ type: 'about:blank', title: 'Unprocessable', status: 422, detail: 'nope', instance: '/other', errors: [{ field: 'x', message: 'bad' }] });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
