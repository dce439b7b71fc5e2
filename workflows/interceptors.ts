// The workflow bundle's interceptor module when tracing is on (workers/runtime.ts adds it): a RunWorkflow
// span per run, continuing the starter's trace from the workflow's headers, and a StartActivity span per
// activity that passes the trace on in the activity's headers. Spans leave the sandbox through the
// `exporter` sink. They add headers and no commands, so histories replay with or without them.
export { interceptors } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors.js';
