import apn from '@parse/node-apn';
import { ApplicationFailure } from '@temporalio/common';
import type { ApnsSecrets, ApnsSettings } from '../../contracts/integrations/apns.ts';

type AlertSummary = { id: string; summary: string; severity: string };

/**
 * Pushes one alert notification to one device through @parse/node-apn (HTTP/2, token auth). The
 * provider id is the apns-id the request carried (APNs echoes it). A provider per send, shut down
 * after: escalation pushes are rare and settings may change; its own reconnect retries are off so
 * Temporal's retry is the only one and each attempt is on record.
 */
export async function pushApns(settings: ApnsSettings, secrets: ApnsSecrets, deviceToken: string, alert: AlertSummary): Promise<string> {
  const provider = new apn.Provider({
    token: { key: secrets.signingKey, keyId: settings.keyId, teamId: settings.teamId },
    production: settings.production,
    // The library takes host and port apart (its port wins over one in the address).
    ...(settings.address ? { address: settings.address.split(':')[0]!, port: Number(settings.address.split(':')[1] ?? 443) } : {}),
    ...(settings.caPem ? { ca: [settings.caPem] } : {}),
    connectionRetryLimit: 0,
    requestTimeout: 15_000,
  });
  try {
    const note = new apn.Notification();
    note.id = crypto.randomUUID();
    note.topic = settings.topic;
    note.pushType = 'alert';
    note.priority = 10;
    note.expiry = Math.floor(Date.now() / 1000) + 3600;
    note.alert = { title: `[${alert.severity.toUpperCase()}] alert`, body: alert.summary.slice(0, 500) };
    note.sound = 'default';
    note.payload = { alertId: alert.id };
    const result = await provider.send(note, deviceToken);
    const failure = result.failed[0];
    if (failure) {
      const why = failure.response?.reason ?? failure.error?.message ?? 'no answer';
      // A device that is gone or not the app's stays so: retrying would only repeat the answer.
      if (failure.status === 400 || failure.status === 410) throw ApplicationFailure.nonRetryable(`APNs refused the push (HTTP ${failure.status}): ${why}`, 'ApnsPermanent');
      throw new Error(`APNs refused the push${failure.status ? ` (HTTP ${failure.status})` : ''}: ${why}`);
    }
    return note.id;
  } finally {
    await provider.shutdown();
  }
}
