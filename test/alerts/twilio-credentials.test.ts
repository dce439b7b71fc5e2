import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import { sendSms } from '../../activities/notify/sms.ts';
import { startTwilioPeer } from '../peers/twilio.ts';

// The SMS send against the Twilio peer when no answer comes: what it throws reaches Temporal and the
// worker's log, so neither it nor anything it holds may carry the account's credentials.
const hex = () => crypto.randomUUID().replaceAll('-', '');
const account = { accountSid: `AC${hex()}`, authToken: hex(), numbers: ['+15550100000'] };
const basic = Buffer.from(`${account.accountSid}:${account.authToken}`).toString('base64');
let twilio: Awaited<ReturnType<typeof startTwilioPeer>>;

beforeAll(async () => {
  twilio = await startTwilioPeer(account);
});
afterAll(async () => {
  await twilio?.close();
});

/** Everything the thrown error holds, as a logger walking it would find it. */
function allOf(err: unknown): string {
  const chain: unknown[] = [];
  for (let e: unknown = err; e && !chain.includes(e); e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain.map((e) => inspect(e, { depth: Infinity, showHidden: true })).join('\n');
}

it('a connection dropped without an answer fails the send with neither the auth token nor its basic-auth form in the error', async () => {
  twilio.control.dropNext = 1;
  const settings = { accountSid: account.accountSid, from: account.numbers[0]!, to: ['+15550001111'], apiUrl: twilio.apiUrl };
  const err = await sendSms(settings, { authToken: account.authToken }, '+15550001111', 'disk full').then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  const text = allOf(err);
  expect(text).not.toContain(account.authToken);
  expect(text).not.toContain(basic);
  // What is left says what went wrong.
  expect((err as Error).message).toMatch(/did not answer \(ECONNRESET\)/);
  // Twilio's own refusals still name Twilio's error.
  const refused = await sendSms(settings, { authToken: account.authToken }, 'not-a-number', 'disk full').then(() => undefined, (e: unknown) => e);
  expect((refused as Error).message).toContain("The 'To' number not-a-number is not a valid phone number.");
});
