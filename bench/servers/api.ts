// The real API (Koa app + WebSocket hub) in a process of its own, configured from the environment the
// bench made (bench/peers.ts); sends its port to the parent. SIGTERM closes it (and writes a CPU profile
// when started with --cpu-prof).
import { startApi } from '../../test/peers/stack.ts';

const api = await startApi();
process.send!({ port: Number(new URL(api.baseUrl).port) });
process.once('SIGTERM', () => {
  void api.close().then(() => process.exit(0));
});
