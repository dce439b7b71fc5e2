import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { tokenFor } from '../fixtures/http.ts';
import { createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// Schemathesis (PyPI, installed by scripts/bootstrap.sh) generates requests from the published OpenAPI
// document — valid ones, invalid ones, unsupported methods — and checks every answer against the
// document: no 5xx, declared statuses and headers only, bodies matching their schema, invalid input
// refused, valid input accepted. Bounded and seeded, so a run is repeatable and fits in CI.
const BIN = process.env.SCHEMATHESIS_BIN ?? '.tools/venv/bin/schemathesis';
const SEED = '20261127';
const MAX_EXAMPLES = '25';

let api: TestApi;
let token: string;
beforeAll(async () => {
  // A budget the fuzzer cannot exhaust, so it exercises the routes rather than the rate limiter.
  api = await startApi({ RATE_LIMIT_API_PER_MINUTE: '1000000' });
  const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
  token = await tokenFor(api, admin.id);
});
afterAll(() => api.close());

function schemathesis(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

it('schemathesis finds no server error and no response that breaks the OpenAPI document', async () => {
  const reportDir = mkdtempSync(path.join(os.tmpdir(), 'opssight-fuzz-'));
  const { code, output } = await schemathesis([
    'run',
    `${api.baseUrl}/api/v1/openapi.json`,
    '--url', api.baseUrl,
    '--header', `Authorization: Bearer ${token}`,
    '--checks', 'all',
    '--seed', SEED,
    '--max-examples', MAX_EXAMPLES,
    '--workers', '2',
    '--request-timeout', '10',
    '--phases', 'examples,coverage,fuzzing',
    // Logging out would revoke the token every later request carries.
    '--exclude-operation-id', 'logout',
    '--report', 'junit',
    '--report-dir', reportDir,
  ]);
  // The report is the point of this test when it fails: print it whole.
  console.log(output);
  expect(readFileSync(path.join(reportDir, 'junit.xml'), 'utf8')).toContain('<testsuite');
  expect(code).toBe(0);
}, 240_000);
