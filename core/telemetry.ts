import http from 'node:http';
import { context, diag, DiagLogLevel, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

/** Tracing for one service (the API, a worker): its spans, with its service.name, to the OTLP endpoint. */
export type Telemetry = {
  readonly serviceName: string;
  readonly resource: Resource;
  tracer(name: string): Tracer;
  /** Hands over a span that ended outside this process's tracers (the Temporal workflow sandbox's). */
  exportEnded(span: ReadableSpan): void;
  /** Gives every request `server` serves a server span, continuing a caller's W3C traceparent. */
  traceServer(server: http.Server): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
};

// Liveness probes and scrapes arrive every few seconds and say nothing about a request's path.
const UNTRACED_PATHS = /^\/(health(\/detailed)?|metrics)(\?|$)/;

// The Temporal interceptor package pins OpenTelemetry SDK 1, which keeps its own @opentelemetry/api 1.9
// copy; the API's globals are versioned and shared, so both copies see what is registered here (1.10).
let processWideSetUp = false;
let globalProviderSet = false;
/**
 * Context travels with async calls, and crosses processes as W3C headers: process-wide by nature, so set
 * once and left in place (a test process runs an API and a worker side by side, each with its own provider).
 */
function setUpProcessWide(logger: Logger) {
  if (processWideSetUp) return;
  processWideSetUp = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  // Export failures (collector down, rejected batch) would otherwise vanish: the SDK reports them only to diag.
  diag.setLogger(
    {
      error: (msg, ...args) => logger.warn({ args }, `opentelemetry: ${msg}`),
      warn: (msg, ...args) => logger.warn({ args }, `opentelemetry: ${msg}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
}

/**
 * Starts tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise returns undefined and nothing is
 * created (no provider, no exporter, no patched http module), so callers install no interceptors either.
 */
export function startTelemetry(config: Config, serviceName: string, logger: Logger): Telemetry | undefined {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return undefined;
  setUpProcessWide(logger);

  const resource = defaultResource().merge(resourceFromAttributes({ ...config.OTEL_RESOURCE_ATTRIBUTES, 'service.name': serviceName }));
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces`, headers: config.OTEL_EXPORTER_OTLP_HEADERS });
  const processor = new BatchSpanProcessor({ exporter });
  const provider = new TracerProvider({ resource, spanProcessors: [processor] });
  // Code that asks the API for a tracer (rather than being handed one) gets the process's first service's.
  if (!globalProviderSet) globalProviderSet = trace.setGlobalTracerProvider(provider);

  let unpatchHttp: (() => void) | undefined;
  const servers = new WeakSet<object>();
  const traceServer = (server: http.Server) => {
    servers.add(server);
    if (unpatchHttp) return;
    const instrumentation = new HttpInstrumentation({
      enabled: false,
      disableOutgoingRequestInstrumentation: true,
      // The patch is process-wide (http.Server.prototype); only the servers handed in here are traced.
      ignoreIncomingRequestHook: (req) => !servers.has((req.socket as { server?: object }).server ?? {}) || UNTRACED_PATHS.test(req.url ?? ''),
    });
    instrumentation.setTracerProvider(provider);
    // Our ESM `import http` never passes through the require hook the instrumentation relies on, so its
    // patch is applied to the (single, shared) http module directly, and undone at shutdown.
    const definition = instrumentation.getModuleDefinitions().find((d) => d.name === 'http');
    definition?.patch?.(http);
    unpatchHttp = () => definition?.unpatch?.(http);
  };

  return {
    serviceName,
    resource,
    tracer: (name) => provider.getTracer(name),
    exportEnded: (span) => processor.onEnd(span),
    traceServer,
    forceFlush: () => provider.forceFlush(),
    shutdown: async () => {
      unpatchHttp?.();
      await provider.shutdown();
    },
  };
}

/**
 * Temporal client options (API and worker alike) that wrap each workflow call in a span (StartWorkflow,
 * SignalWorkflow...) and pass the trace to the workflow in its headers; none when tracing is off.
 */
export function temporalClientTracing(telemetry: Telemetry | undefined) {
  if (!telemetry) return {};
  return { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer: telemetry.tracer('@temporalio/interceptor-client') })] } };
}
