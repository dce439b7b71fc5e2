// The baseline every HTTP figure is divided by: a bare Koa 3 app answering {"ok":true}. Given a file
// in BODY_FILE it also answers GET /bytes with that file's bytes as JSON: what sending a route's own
// answer costs a bare app, apart from everything the route does before it.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';

const bytes = process.env.BODY_FILE ? readFileSync(process.env.BODY_FILE) : undefined;
const app = new Koa();
app.use((ctx) => {
  if (bytes && ctx.path === '/bytes') {
    ctx.type = 'application/json';
    ctx.body = bytes;
  } else ctx.body = { ok: true };
});
const server = http.createServer(app.callback()).listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
