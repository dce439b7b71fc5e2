import type http from 'node:http';
import type { AppDeps } from '../context.ts';

// Placeholder so server.ts composes while the hub is being written.
export function attachWebSocketHub(_server: http.Server, _deps: AppDeps): { close: () => Promise<void> } {
  return { close: async () => {} };
}
