import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { outageOf } from '../../core/outages.ts';
import { createRedis } from '../../core/redis.ts';
import type { AppDeps } from '../context.ts';
import { catchUpFromStore } from './catch-up.ts';
import { SessionRevocations } from './revocations.ts';
import { Session } from './session.ts';
import { RunStreamReader } from './stream-reader.ts';
import { TOPIC_SHAPES, TeamTopic } from './team-topic.ts';
import { WS_PROTOCOL, authorizeUpgrade, rejectUpgrade } from './upgrade.ts';

export const WS_PATH = '/ws';
/** Client messages are small JSON commands; anything bigger is a mistake or an attack. */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
/** How long shutdown waits for peers to answer the close frame before cutting them off. */
const SHUTDOWN_GRACE_MS = 1_000;

export type WebSocketHub = {
  close: () => Promise<void>;
  /** Open sockets on this instance. */
  connections: () => number;
  /** Runs this instance currently tails from Redis (one reader entry each, however many watchers). */
  watchedRuns: () => number;
};

/**
 * Serves /ws on the API's HTTP server: authenticates the upgrade, then hands each socket to a
 * Session. Redis connections are opened on first use: one blocking reader for all watched runs and
 * one subscriber per topic (`runs`, `alerts`), per API instance.
 */
export function attachWebSocketHub(server: http.Server, deps: AppDeps): WebSocketHub {
  const { config, logger, metrics } = deps;
  const connect = (name: string) => {
    const conn = createRedis(config.REDIS_URL, name);
    conn.on('error', (err: Error) => logger.warn({ err, connection: name }, 'ws redis connection error'));
    return conn;
  };
  const reader = new RunStreamReader({ connect: () => connect('api-ws-reader'), redis: deps.redis, keys: deps.keys, logger });
  const topics = {
    runs: new TeamTopic({ connect: () => connect('api-ws-runs'), channel: deps.keys.runsChannel, shape: TOPIC_SHAPES.runs, logger }),
    alerts: new TeamTopic({ connect: () => connect('api-ws-alerts'), channel: deps.keys.alertsChannel, shape: TOPIC_SHAPES.alerts, logger }),
  };
  const sessionDeps = { db: deps.db, events: deps.events, reader, topics, metrics, logger, maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES };
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const sessions = new Map<WebSocket, Session>();
  const authenticating = new Set<Duplex>();
  let closing = false;
  const revocations = new SessionRevocations(
    { connect: () => connect('api-ws-revocations'), channel: deps.keys.revocationsChannel, db: deps.db, logger, sweepEveryMs: config.WS_PING_INTERVAL_MS },
    () => [...sessions.values()].map((s) => s.family),
    (ended) => {
      for (const session of sessions.values()) if (ended.has(session.family)) session.revoked();
    },
    (users) => {
      for (const session of sessions.values()) if (users === 'all' || users.has(session.principal.id)) void session.recheck();
    },
  );

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger.debug({ err }, 'ws upgrade socket error'));
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return rejectUpgrade(socket, 404, 'no WebSocket endpoint here');
    if (closing) return rejectUpgrade(socket, 503, 'shutting down', 1);
    // Live events travel through Redis only: without it a socket would stay silent, so say so instead.
    if (deps.redis.status !== 'ready') return rejectUpgrade(socket, 503, 'Redis is unavailable; retry later', 5);
    authenticating.add(socket);
    authorizeUpgrade(req, url, deps).then(
      (outcome) => {
        authenticating.delete(socket);
        if (closing || socket.destroyed) return void socket.destroy();
        if (!outcome.ok) return rejectUpgrade(socket, outcome.status, outcome.message);
        wss.handleUpgrade(req, socket, head, (ws) => {
          metrics.wsConnections.inc();
          sessions.set(ws, new Session(ws, socket, outcome.principal, outcome.reload, sessionDeps));
          // A revocation announced between the token check and now reached no socket: look once more.
          void revocations.check([outcome.principal.family]);
          ws.on('error', (err) => logger.debug({ err }, 'ws socket error'));
          ws.on('close', () => {
            sessions.delete(ws);
            metrics.wsConnections.dec();
          });
        });
      },
      (err: unknown) => {
        authenticating.delete(socket);
        const outage = outageOf(err);
        if (outage) {
          logger.warn({ err }, 'ws upgrade: dependency unavailable');
          return rejectUpgrade(socket, 503, outage.message, outage.retryAfterSeconds);
        }
        logger.error({ err }, 'ws upgrade failed');
        rejectUpgrade(socket, 500, 'internal error');
      },
    );
  };
  server.on('upgrade', onUpgrade);

  // A peer that misses one ping interval's pong is terminated on the next tick.
  let catchingUp: Promise<void> | undefined;
  const pinger = setInterval(() => {
    for (const session of sessions.values()) session.ping();
    catchingUp ??= catchUpFromStore(deps.db, logger, [...sessions.values()].flatMap((s) => [...s.subscriptions()])).finally(
      () => (catchingUp = undefined),
    );
  }, config.WS_PING_INTERVAL_MS);
  pinger.unref();

  const close = async () => {
    if (closing) return;
    closing = true;
    server.off('upgrade', onUpgrade);
    clearInterval(pinger);
    for (const socket of authenticating) socket.destroy();
    await Promise.all(
      [...sessions.keys()].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            const kill = setTimeout(() => ws.terminate(), SHUTDOWN_GRACE_MS);
            ws.once('close', () => {
              clearTimeout(kill);
              resolve();
            });
            sessions.get(ws)?.dispose();
            ws.close(1001, 'server shutting down');
          }),
      ),
    );
    await Promise.all([reader.stop(), topics.runs.close(), topics.alerts.close(), revocations.close(), catchingUp]);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };

  return { close, connections: () => sessions.size, watchedRuns: () => reader.watchedRuns };
}
