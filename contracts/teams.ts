import { z } from 'zod';
import { KINDS } from './kinds/index.ts';

export const teamSlugSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and "-", 2 to 63 characters');
/** Routes under /teams/{slug}: a slug no team could have is a 400 naming it, never a query. */
export const teamPathSchema = z.object({ slug: teamSlugSchema });

export const TERRAFORM_PROVISIONERS = ['local-exec', 'remote-exec', 'file'] as const;

const kindName = z.enum(Object.keys(KINDS) as [string, ...string[]]);

/**
 * A team's policy, stored as one JSON document on the team and read with these defaults, so a key added
 * here needs no migration. New teams get the defaults (four-eyes on); teams that existed before settings
 * did were migrated with four-eyes off, so nothing they did before stops working.
 */
export const teamSettingsSchema = z.object({
  fourEyes: z.boolean().default(true).describe('the person who requested a run may not approve it (they may still reject it)'),
  requireMfa: z.boolean().default(false).describe('members without a second factor (TOTP) may only read until they enrol'),
  autoApply: z
    .object({
      kinds: z.array(kindName).default([]).describe('kinds whose runs an operator without runs:approve may start with autoApply'),
    })
    .default({ kinds: [] }),
  terraform: z
    .object({
      forbidProvisioners: z.array(z.enum(TERRAFORM_PROVISIONERS)).default([]).describe('provisioner types a configuration may not use'),
      forbidExternalData: z.boolean().default(false).describe('refuse configurations with `data "external"` sources'),
    })
    .default({ forbidProvisioners: [], forbidExternalData: false }),
  deploy: z
    .object({
      rollbackApproval: z.boolean().default(false).describe('a rollback started from a succeeded deploy (POST /runs/{id}/rollback) waits for approval after its diff, whatever the deploy asked'),
    })
    .default({ rollbackApproval: false }),
});
export type TeamSettings = z.infer<typeof teamSettingsSchema>;

/** The settings of a team created now. */
export const newTeamSettings = (): TeamSettings => teamSettingsSchema.parse({});

/** PATCH /teams/:slug/settings: any subset; a list given replaces the stored list. Unknown keys are refused. */
export const teamSettingsPatchSchema = z
  .strictObject({
    fourEyes: z.boolean().optional(),
    requireMfa: z.boolean().optional(),
    autoApply: z.strictObject({ kinds: z.array(kindName).max(50) }).optional(),
    terraform: z
      .strictObject({
        forbidProvisioners: z.array(z.enum(TERRAFORM_PROVISIONERS)).max(TERRAFORM_PROVISIONERS.length).optional(),
        forbidExternalData: z.boolean().optional(),
      })
      .optional(),
    deploy: z.strictObject({ rollbackApproval: z.boolean().optional() }).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'give at least one of fourEyes, requireMfa, autoApply, terraform, deploy' });
export type TeamSettingsPatch = z.infer<typeof teamSettingsPatchSchema>;

/** The patch applied to `current`; lists are deduplicated. */
export function applySettingsPatch(current: TeamSettings, patch: TeamSettingsPatch): TeamSettings {
  return {
    fourEyes: patch.fourEyes ?? current.fourEyes,
    requireMfa: patch.requireMfa ?? current.requireMfa,
    autoApply: { kinds: [...new Set(patch.autoApply?.kinds ?? current.autoApply.kinds)] },
    terraform: {
      forbidProvisioners: [...new Set(patch.terraform?.forbidProvisioners ?? current.terraform.forbidProvisioners)],
      forbidExternalData: patch.terraform?.forbidExternalData ?? current.terraform.forbidExternalData,
    },
    deploy: { rollbackApproval: patch.deploy?.rollbackApproval ?? current.deploy.rollbackApproval },
  };
}
