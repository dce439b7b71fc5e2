/**
 * docker-compose.yml cannot run here (no container engine), so this checks what can be checked
 * without one: the services and their start order, that every setting handed to the API and the
 * worker is one core/config.ts knows and that together they pass its validation, that the required
 * secrets are documented in deploy/env.example, and that the files the stack refers to exist.
 */
import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../core/config.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string | number>;
  volumes?: string[];
  user?: string;
};
const raw = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
// The file shares settings through YAML merge keys (<<: *anchor), which YAML 1.2 leaves off by default.
const compose = parseYaml(raw, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** Compose's interpolation (${X}, ${X:-default}, ${X:?error}) with the values of a filled-in .env. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    if (env[name]) return env[name];
    if (op === '?') throw new Error(`${name} is required: ${arg}`);
    return op === '-' ? (arg ?? '') : '';
  });
}
const dotEnv = { POSTGRES_PASSWORD: 'pg-secret', REDIS_PASSWORD: 'redis-secret', JWT_SECRET: 'x'.repeat(48), INTEGRATIONS_KEY: Buffer.alloc(32, 7).toString('base64') };
const envOf = (service: string) =>
  Object.fromEntries(Object.entries(services[service]!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), dotEnv)]));

describe('docker-compose.yml', () => {
  test('has the production-shaped services', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'migrate', 'postgres', 'redis', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker'].sort(),
    );
    expect(services.postgres!.image).toMatch(/^postgres:\d+/);
    expect(services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
    expect(services.temporal!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
  });

  test('starts things in order: schema and namespace before the apps, migrations before api and worker', () => {
    const after = (s: string) => Object.fromEntries(Object.entries(services[s]!.depends_on ?? {}).map(([k, v]) => [k, v.condition]));
    expect(after('migrate')).toEqual({ postgres: 'service_healthy' });
    expect(after('temporal-schema')).toEqual({ postgres: 'service_healthy' });
    expect(after('temporal')).toEqual({ 'temporal-schema': 'service_completed_successfully' });
    expect(after('temporal-namespace')).toEqual({ temporal: 'service_healthy' });
    for (const app of ['api', 'worker']) {
      expect(after(app)).toEqual({
        migrate: 'service_completed_successfully',
        redis: 'service_healthy',
        'temporal-namespace': 'service_completed_successfully',
      });
    }
  });

  test('gives the API and the worker only settings core/config.ts knows, and they pass it', () => {
    for (const app of ['api', 'worker']) {
      const env = envOf(app);
      const config = loadConfig(env);
      for (const name of Object.keys(env)) expect([app, name, name in config]).toEqual([app, name, true]);
      expect(config.DATABASE_URL).toBe('postgres://opssight:pg-secret@postgres:5432/opssight');
      expect(config.REDIS_URL).toBe('redis://:redis-secret@redis:6379/0');
      expect(config.TEMPORAL_ADDRESS).toBe('temporal:7233');
    }
    expect(loadConfig(envOf('api')).API_HOST).toBe('0.0.0.0');
    expect(envOf('migrate').DATABASE_URL).toBe(envOf('api').DATABASE_URL);
  });

  test('refuses to start without the secrets, and deploy/env.example names each of them', () => {
    expect(() => envOf('api')).not.toThrow();
    const required = [...new Set([...raw.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]!))].sort();
    expect(required).toEqual(['INTEGRATIONS_KEY', 'JWT_SECRET', 'POSTGRES_PASSWORD', 'REDIS_PASSWORD']);
    const example = readFileSync(path.join(ROOT, 'deploy/env.example'), 'utf8');
    for (const name of required) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
    expect(() => interpolate(String(services.api!.environment!.JWT_SECRET), {})).toThrow(/JWT_SECRET is required/);
  });

  test('builds from deploy/Dockerfile targets that exist and runs entry points that exist', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8');
    for (const s of ['api', 'migrate', 'worker']) {
      const build = services[s]!.build!;
      expect(build.dockerfile).toBe('deploy/Dockerfile');
      expect(dockerfile).toMatch(new RegExp(`^FROM \\S+ AS ${build.target}$`, 'm'));
    }
    expect(services.migrate!.command).toEqual(['node', 'db/migrate.ts']);
    for (const entry of ['db/migrate.ts', 'api/server.ts', 'workers/main.ts']) expect(existsSync(path.join(ROOT, entry))).toBe(true);
    for (const [, src] of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) expect([src, existsSync(path.join(ROOT, src!))]).toEqual([src, true]);
    // The worker stays root, so run code gets a uid of its own; as any other user it would read the
    // worker's environment (the platform's secrets) through /proc.
    const workerStage = dockerfile.slice(dockerfile.indexOf(`AS ${services.worker!.build!.target}`)).split(/^FROM /m)[0]!;
    expect(workerStage).not.toMatch(/^USER /m);
    expect(services.worker!.user ?? 'root').toBe('root');
    expect(workerStage).toMatch(/NSS_WRAPPER_LIB=\S+/);
    for (const mount of [...services['temporal-schema']!.volumes!, ...services.temporal!.volumes!]) {
      expect(existsSync(path.join(ROOT, mount.split(':')[0]!))).toBe(true);
    }
  });
});
