// Entry point of a real API process for tests (test/peers/api-process.ts): the API as server.ts builds
// it, configured from the environment, reporting its port over IPC. SIGTERM closes it.
import { startApi } from './stack.ts';

const api = await startApi();
process.send!({ port: Number(new URL(api.baseUrl).port) });
process.once('SIGTERM', () => {
  void api.close().then(() => process.exit(0));
});
