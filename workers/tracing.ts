import { createTraceState } from '@opentelemetry/api';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
  type SerializableSpan,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import type { Telemetry } from '../core/telemetry.ts';

/**
 * The workflow sandbox's spans arrive as plain objects shaped for OpenTelemetry SDK 1 (the one the
 * interceptor package bundles); this process exports with SDK 3, which reads the parent and the scope
 * from other fields.
 */
function toReadableSpan(span: SerializableSpan, info: WorkflowInfo, telemetry: Telemetry) {
  const { spanContext, parentSpanId, instrumentationLibrary, ...rest } = span;
  const { traceState, ...ids } = spanContext;
  const context = { ...ids, ...(traceState ? { traceState: createTraceState(traceState) } : {}) };
  return {
    ...rest,
    spanContext: () => context,
    parentSpanContext: parentSpanId ? { traceId: ids.traceId, spanId: parentSpanId, traceFlags: ids.traceFlags } : undefined,
    instrumentationScope: instrumentationLibrary,
    resource: telemetry.resource,
    attributes: { ...rest.attributes, temporalWorkflowId: info.workflowId, run_id: info.runId, taskQueue: info.taskQueue },
  };
}

/** Worker options that trace activities and export the workflow sandbox's spans; none when tracing is off. */
export function workerTracing(telemetry: Telemetry | undefined): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (!telemetry) return {};
  const tracer = telemetry.tracer('@temporalio/interceptor-activity');
  const sinks: InjectedSinks<OpenTelemetrySinks> = {
    exporter: { export: { fn: (info, spans) => spans.forEach((s) => telemetry.exportEnded(toReadableSpan(s, info, telemetry))) } },
  };
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks,
  };
}
