import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { startTelemetry, temporalClientTracing } from '../../core/telemetry.ts';
import { bundleWorkflows } from '../../workers/bundle.ts';
import { workerTracing } from '../../workers/runtime.ts';
import { client } from '../fixtures/http.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../peers/otlp.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { createNamespace } from '../peers/temporal.ts';
import { startTestWorker, workflowBundle, type TestWorker } from '../peers/worker.ts';
import { HISTORIES_DIR, historyFromPlainJson } from '../workflows/record-histories.ts';

// Traces over the real protocol: the API and a worker export OTLP/HTTP to a local receiver, and one run
// started with POST /api/v1/runs must come out as one trace from the HTTP request to the activities.
const silent = createLogger({ level: 'silent', name: 'tracing-test' });
const isPatched = () => '__original' in http.Server.prototype.emit;

describe('with OTEL_EXPORTER_OTLP_ENDPOINT unset', () => {
  it('starts nothing: no telemetry, no interceptors, http left alone', async () => {
    const config = loadConfig({ ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' });
    expect(startTelemetry(config, 'opssight-api', silent)).toBeUndefined();
    expect(temporalClientTracing(undefined)).toEqual({});
    expect(workerTracing(undefined)).toEqual({});

    const api = await startApi({ OTEL_EXPORTER_OTLP_ENDPOINT: '' });
    try {
      expect(api.deps.telemetry).toBeUndefined();
      expect(api.deps.temporal.options.interceptors.workflow ?? []).toEqual([]);
      expect((await client(api).get('/health')).status).toBe(200);
      expect(isPatched()).toBe(false);
    } finally {
      await api.close();
    }
  });
});

describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  let receiver: OtlpReceiver;
  let api: TestApi | undefined;
  let worker: TestWorker | undefined;
  let traced: { code: string };
  let token: string;
  let team: { slug: string };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // A namespace of its own: another file's (untraced) worker on the infra queue would otherwise take the run.
    const namespace = `tracing-${crypto.randomUUID().slice(0, 8)}`;
    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    await createNamespace(connection, namespace).finally(() => connection.close());
    const env = { TEMPORAL_NAMESPACE: namespace, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test' };
    api = await startApi(env);
    // The run's shared bundle is the untraced one; a traced worker's bundle carries the workflow interceptors.
    traced = await bundleWorkflows(true);
    worker = await startTestWorker(env, { workflowBundle: traced });
    team = await createTeam(api.deps.db.em);
    const operator = await createUser(api.deps.db.em, { teams: [team as { id: string; slug: string }], role: 'approver' });
    token = (await client(api).post('/api/v1/auth/login', { email: operator.email, password: PASSWORD })).body.accessToken;
  });
  afterAll(async () => {
    await worker?.shutdown();
    await api?.close();
    await receiver?.close();
  });

  let runId: string;

  it('follows a run from POST /api/v1/runs through StartWorkflow and RunWorkflow to its activity spans', async () => {
    const started = await client(api!, token).post('/api/v1/runs', {
      kind: 'terraform',
      team: team.slug,
      params: { workspace: `trace-${crypto.randomUUID().slice(0, 8)}`, files: simpleConfig(), autoApply: true },
    });
    expect(started.status).toBe(201);
    runId = started.body.id;
    await until('the run to succeed', async () => ((await client(api!, token).get(`/api/v1/runs/${runId}`)).body.status === 'succeeded' ? true : undefined), 90_000);

    const isPost = (s: ReceivedSpan) =>
      s.kind === 2 && (s.attributes['http.request.method'] ?? s.attributes['http.method']) === 'POST' && (s.attributes['url.path'] ?? s.attributes['http.target']) === '/api/v1/runs';
    // The workflow span ends when the workflow does, which can be just after the run row says succeeded.
    const trace = await until('the run trace to be exported', async () => {
      await Promise.all([api!.deps.telemetry!.forceFlush(), worker!.telemetry!.forceFlush()]);
      const post = receiver.spans.find(isPost);
      const inTrace = post ? receiver.spans.filter((s) => s.traceId === post.traceId) : [];
      const names = new Set(inTrace.map((s) => s.name));
      const complete = ['RunWorkflow:terraformRun', 'RunActivity:terraformPlan', 'RunActivity:terraformApply'].every((n) => names.has(n));
      return post && complete ? { post, inTrace } : undefined;
    });
    expect(receiver.rejected).toEqual([]);

    const { post, inTrace } = trace;
    const one = (name: string, parent: ReceivedSpan) => {
      const found = inTrace.filter((s) => s.name === name && s.parentSpanId === parent.spanId);
      expect(found.map((s) => s.name)).toEqual([name]);
      return found[0]!;
    };
    expect(post).toMatchObject({ service: 'opssight-api', parentSpanId: undefined, resource: expect.objectContaining({ 'deployment.environment.name': 'test' }) });
    expect(post.attributes['http.response.status_code'] ?? post.attributes['http.status_code']).toBe(201);
    // Named by the matched route, not the raw path: run ids never explode the span-name cardinality.
    expect(post.name).toBe('POST /api/v1/runs');
    expect(post.attributes['http.route']).toBe('/api/v1/runs');

    const start = one('StartWorkflow:terraformRun', post);
    expect(start).toMatchObject({ service: 'opssight-api', attributes: expect.objectContaining({ temporalWorkflowId: runId }) });
    const run = one('RunWorkflow:terraformRun', start);
    expect(run).toMatchObject({ service: 'opssight-worker', attributes: expect.objectContaining({ temporalWorkflowId: runId }) });
    for (const activity of ['terraformPlan', 'terraformApply']) {
      const scheduled = one(`StartActivity:${activity}`, run);
      expect(scheduled.service).toBe('opssight-worker');
      const executed = one(`RunActivity:${activity}`, scheduled);
      expect(executed).toMatchObject({ service: 'opssight-worker', attributes: expect.objectContaining({ temporalWorkflowId: runId }) });
      expect(executed.statusCode).not.toBe(2); // STATUS_CODE_ERROR
    }
    // Every workflow and activity span of the run hangs off this one trace, none off another.
    const workflowSpans = receiver.spans.filter((s) => s.attributes.temporalWorkflowId === runId);
    expect(new Set(workflowSpans.map((s) => s.traceId))).toEqual(new Set([post.traceId]));
    expect(inTrace.every((s) => s.spanId === post.spanId || inTrace.some((p) => p.spanId === s.parentSpanId))).toBe(true);
  });

  it('adds no commands: recorded histories replay with the tracing interceptors, the traced run without them', async () => {
    const { sinks } = workerTracing(worker!.telemetry);
    for (const file of (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json'))) {
      const history = historyFromPlainJson(JSON.parse(await readFile(path.join(HISTORIES_DIR, file), 'utf8')));
      await expect(Worker.runReplayHistory({ workflowBundle: traced, ...(sinks ? { sinks } : {}) }, history, file)).resolves.toBeUndefined();
    }
    const tracedHistory = await api!.deps.temporal.workflow.getHandle(runId).fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, tracedHistory, runId)).resolves.toBeUndefined();
  });

  it('shutting down flushes and puts the http module back', async () => {
    expect(isPatched()).toBe(true);
    await worker!.shutdown();
    await api!.close();
    worker = undefined;
    api = undefined;
    expect(isPatched()).toBe(false);
  });
});
