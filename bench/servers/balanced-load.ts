// A request loop through a two-slot "load balancer" (the next slot on a refused connection, as nginx's
// proxy_next_upstream does), in a process of its own so that it does not share an event loop with
// what it measures. Slots are the arguments; it stops on SIGTERM and prints {"ok":n,"failed":n}.
const slots = process.argv.slice(2).map(Number);
let ok = 0;
let failed = 0;
let running = true;
let preferred = 0;
process.on('SIGTERM', () => (running = false));

const once = async (port: number) => {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
  await res.text();
  return res.status === 200;
};
process.stdout.write('ready\n');
while (running) {
  let served = false;
  for (let i = 0; i < slots.length && !served; i++) {
    const port = slots[(preferred + i) % slots.length]!;
    served = await once(port).catch(() => false);
    if (served) preferred = (preferred + i) % slots.length;
  }
  if (served) ok++;
  else failed++;
}
process.stdout.write(`${JSON.stringify({ ok, failed })}\n`);
