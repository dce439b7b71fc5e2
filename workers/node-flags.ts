/**
 * The V8 flags a worker process is started with (scripts/up, the worker image, `npm run worker`,
 * the alert bench). Without a limit V8 sizes the heap from the machine's memory and collects lazily:
 * a worker holding 1,000 escalations grew to 1.1 GiB of RSS around a live set that fits in well under
 * one. With this limit it stayed near 750 MiB, with the same lateness; the SDK sizes its workflow
 * cache from the limit too (WORKER_MAX_CACHED_WORKFLOWS overrides it). NODE_OPTIONS can raise it.
 */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=1024'];
