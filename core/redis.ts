import { Redis } from 'ioredis';

export type RedisKeys = {
  prefix: string;
  runStream: (runId: string) => string;
  runsChannel: string;
  revokedJti: (jti: string) => string;
};

export function redisKeys(prefix: string): RedisKeys {
  return {
    prefix,
    runStream: (runId) => `${prefix}run:${runId}:events`,
    runsChannel: `${prefix}runs`,
    revokedJti: (jti) => `${prefix}revoked:${jti}`,
  };
}

export function createRedis(url: string, name: string): Redis {
  return new Redis(url, { connectionName: name, maxRetriesPerRequest: 3, lazyConnect: false });
}
