import type { EntityManager } from '@mikro-orm/postgresql';
import { lockRowsNotUnderKey, updateSealedSecret } from '../../db/repositories/integrations.ts';
import type { Keyring } from '../secrets/keyring.ts';
import { resealIntegrationSecret } from './store.ts';

export type RotationReport = { reEncrypted: number; failed: { id: string; reason: string }[] };

/**
 * Re-encrypts every integration secret not yet under the keyring's current key, `batchSize` rows
 * per transaction, in id order. Nothing stops meanwhile: processes configured with the new key and
 * the old one among INTEGRATIONS_PREVIOUS_KEYS read both kinds of row, each batch commits on its
 * own, and a row that a request is changing is waited for (row lock), not overwritten. A row that
 * cannot be opened (a key the ring lacks, a damaged envelope) is reported and left as it is.
 */
export async function rotateIntegrationKeys(
  em: EntityManager,
  keyring: Keyring,
  opts: { batchSize: number; onBatch?: (done: number) => void },
): Promise<RotationReport> {
  const report: RotationReport = { reEncrypted: 0, failed: [] };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await em.fork().transactional(async (tx) => {
      const batch = await lockRowsNotUnderKey(tx, keyring.currentKeyId, after, opts.batchSize);
      for (const row of batch) {
        try {
          const sealed = await resealIntegrationSecret(keyring, row.id, row.secret);
          await updateSealedSecret(tx, row.id, sealed.envelope, sealed.keyId);
          report.reEncrypted++;
        } catch (err) {
          report.failed.push({ id: row.id, reason: (err as Error).message });
        }
      }
      return batch;
    });
    if (rows.length === 0) return report;
    after = rows[rows.length - 1]!.id;
    opts.onBatch?.(report.reEncrypted);
  }
}
