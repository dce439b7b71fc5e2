import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { dropDatabase } from './postgres.ts';

export default async function globalTeardown(): Promise<void> {
  const peers = (globalThis as Record<string, unknown>).__opssightPeers as
    | { temporal: { stop: () => Promise<void> }; dbName: string; bundleDir: string }
    | undefined;
  if (!peers) return;
  await peers.temporal.stop();
  await dropDatabase(peers.dbName);
  rmSync(peers.bundleDir, { recursive: true, force: true });
  const redis = new Redis(process.env.REDIS_URL!);
  const keys = await redis.keys(`${process.env.REDIS_PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
}
