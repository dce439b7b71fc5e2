import { z } from 'zod';
import { e164 } from '../integrations/twilio.ts';

/**
 * Where a person is paged beyond email: a phone number for SMS steps and the device tokens of the
 * OpsSight app for push steps. A `notify_users` or `notify_oncall` step sent through a Twilio
 * integration texts each person's phone; through an APNs integration it pushes to their devices.
 */
export const pagingContactSchema = z.strictObject({
  phone: e164.nullable().describe('E.164 number SMS steps text; null: none'),
  pushTokens: z
    .array(z.string().regex(/^[A-Za-z0-9:_-]{8,4096}$/, 'a device token (letters, digits, ":", "_" or "-")'))
    .max(10)
    .refine((tokens) => new Set(tokens).size === tokens.length, 'each device once')
    .meta({ uniqueItems: true })
    .describe('device tokens push steps reach (at most 10)'),
});
export type PagingContact = z.infer<typeof pagingContactSchema>;
