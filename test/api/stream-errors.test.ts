import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { expect, it, jest } from '@jest/globals';
import Koa from 'koa';
import { pino } from 'pino';
import { logStreamErrors } from '../../api/middleware/errors.ts';

// A client that leaves mid-answer makes the answer's stream fail after the error mapper's turn. Koa
// alone prints that stack to stderr, past the structured logger; here it is a debug line, and a
// failure that is ours an error line, both in the logger.
it('an answer cut short by its client is a debug line in the log, not a stack on stderr', async () => {
  const lines: { level: number; msg: string; code?: string; path?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const app = new Koa();
  logStreamErrors(app, logger);
  const reported = new Promise((resolve) => app.once('error', resolve));
  // An endless body: the client reads one chunk, then hangs up.
  app.use((ctx) => {
    ctx.body = new Readable({ read() { this.push('x'.repeat(16_384)); } });
  });
  const stderr = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await new Promise<void>((resolve, reject) => {
      http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/long`, (res) => res.once('data', () => (res.destroy(), resolve()))).on('error', reject);
    });
    await reported;
    expect(stderr).not.toHaveBeenCalled();
    expect(lines).toContainEqual(expect.objectContaining({ level: 20, msg: 'client went away mid-answer', path: '/long' }));

    app.emit('error', new Error('disk on fire'), undefined);
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, msg: 'answer failed after it began' }));
    expect(stderr).not.toHaveBeenCalled();
  } finally {
    stderr.mockRestore();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
