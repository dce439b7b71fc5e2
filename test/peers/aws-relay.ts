import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback relay in front of moto for EC2's query protocol (`Action=…` in a form body). It records
 * every action it passes on and, when asked, holds the reply to one action after moto has carried it
 * out: the side effect is real, but the caller never hears of it — the moment a worker killed then
 * would leave behind. moto cannot say how often an instance was stopped; `count` can.
 */
export async function startAwsRelay(target: string) {
  const calls: Array<{ action: string; params: URLSearchParams }> = [];
  let holding: { action: string; reached: () => void } | undefined;
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString());
      const action = params.get('Action') ?? `${req.method} ${req.url}`;
      calls.push({ action, params });
      const headers = { ...req.headers };
      // fetch sets these itself from the body it sends.
      for (const h of ['host', 'connection', 'content-length', 'transfer-encoding']) delete headers[h];
      fetch(`${target}${req.url}`, { method: req.method, headers: headers as Record<string, string>, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body })
        .then(async (answer) => {
          const text = Buffer.from(await answer.arrayBuffer());
          if (holding?.action === action) {
            const { reached } = holding;
            holding = undefined;
            held.push(res);
            reached();
            return;
          }
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/xml' });
          res.end(text);
        })
        .catch((err: unknown) => {
          res.writeHead(502);
          res.end(String(err));
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Every call passed on, in order. */
    calls,
    /** Resolves once moto has carried out the next `action`; its reply is kept from the caller for good. */
    hold: (action: string, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${action} reached moto within ${timeoutMs} ms`)), timeoutMs);
        holding = { action, reached: () => (clearTimeout(timer), resolve()) };
      }),
    /** How many `action` calls named `resourceId` among their parameters were passed on. */
    count: (action: string, resourceId: string) => calls.filter((c) => c.action === action && [...c.params.values()].includes(resourceId)).length,
    stop: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
export type AwsRelay = Awaited<ReturnType<typeof startAwsRelay>>;
