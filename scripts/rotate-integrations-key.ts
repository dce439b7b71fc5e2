/**
 * `npm run integrations:rotate-key [-- --batch-size N]`: re-encrypts every integration secret under
 * INTEGRATIONS_KEY, reading the rows still under an old key with INTEGRATIONS_PREVIOUS_KEYS. Run it
 * once every process has the new key (and the old one among the previous keys); the README's
 * Integrations section has the whole procedure. Exits 1 if any row could not be re-encrypted.
 */
import { ConfigError, loadKeyRotationConfig } from '../core/config.ts';
import { rotateIntegrationKeys } from '../core/integrations/rotation.ts';
import { keyringFromConfig } from '../core/secrets/keyring.ts';
import { countByKeyId } from '../db/repositories/integrations.ts';
import { initOrm } from '../db/orm.ts';

function batchSize(argv: string[]): number {
  const i = argv.indexOf('--batch-size');
  const n = i >= 0 ? Number(argv[i + 1]) : 100;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(['--batch-size: must be a positive integer']);
  return n;
}

async function main(): Promise<number> {
  let config;
  let size;
  try {
    config = loadKeyRotationConfig();
    size = batchSize(process.argv.slice(2));
  } catch (err) {
    console.error(`rotate-key: ${(err as Error).message}`);
    return 1;
  }
  const keyring = keyringFromConfig(config);
  const db = await initOrm(config.DATABASE_URL, { poolMax: 2 });
  try {
    console.log(`rotate-key: re-encrypting under key ${keyring.currentKeyId} (also reading ${keyring.keyIds.slice(1).join(', ') || 'no other key'})`);
    const report = await rotateIntegrationKeys(db.em, keyring, { batchSize: size, onBatch: (n) => console.log(`rotate-key: ${n} re-encrypted so far`) });
    for (const f of report.failed) console.error(`rotate-key: integration ${f.id} left as it is: ${f.reason}`);
    const byKey = Object.entries(await countByKeyId(db.em.fork()))
      .map(([kid, n]) => `${kid}: ${n}`)
      .join(', ');
    console.log(`rotate-key: done, ${report.reEncrypted} re-encrypted, ${report.failed.length} failed; rows per key id: ${byKey || 'none'}`);
    return report.failed.length ? 1 : 0;
  } finally {
    await db.close();
  }
}

if (import.meta.main) process.exitCode = await main();
