/**
 * Creates the first platform admin (and a `default` team they administer) unless it exists.
 * Used by scripts/up.sh; also runnable alone:
 *   DATABASE_URL=... OPSSIGHT_ADMIN_EMAIL=... OPSSIGHT_ADMIN_PASSWORD=... node scripts/create-admin.ts
 * Without OPSSIGHT_ADMIN_PASSWORD a password is generated and printed once, to stdout only; it is
 * never written to a log or a file.
 */
import { randomBytes } from 'node:crypto';
import { passwordProblem } from '../core/password-policy.ts';
import { hashPassword } from '../core/passwords.ts';
import { MembershipSchema, TeamSchema, UserSchema } from '../db/entities/index.ts';
import { initOrm } from '../db/orm.ts';

export const DEFAULT_ADMIN_EMAIL = 'admin@opssight.local';
export const DEFAULT_TEAM_SLUG = 'default';

export type AdminResult =
  | { created: false; email: string }
  | { created: true; email: string; generatedPassword?: string; team: string };

export async function ensureAdmin(
  databaseUrl: string,
  opts: { email?: string; password?: string },
): Promise<AdminResult> {
  const db = await initOrm(databaseUrl, { poolMax: 2 });
  try {
    const em = db.em.fork();
    const email = (opts.email ?? DEFAULT_ADMIN_EMAIL).trim().toLowerCase();
    if (await em.findOne(UserSchema, { email })) return { created: false, email };
    // Without an explicit email, any existing admin means the first admin was made already.
    const anyAdmin = opts.email ? null : await em.findOne(UserSchema, { isAdmin: true });
    if (anyAdmin) return { created: false, email: anyAdmin.email };

    const generatedPassword = opts.password ? undefined : randomBytes(18).toString('base64url');
    const password = opts.password ?? generatedPassword!;
    const problem = passwordProblem(password, email);
    if (problem) throw new Error(`OPSSIGHT_ADMIN_PASSWORD is not acceptable: ${problem}`);

    const user = em.create(UserSchema, { email, name: 'Administrator', passwordHash: await hashPassword(password), isAdmin: true });
    let team = await em.findOne(TeamSchema, { slug: DEFAULT_TEAM_SLUG });
    team ??= em.create(TeamSchema, { slug: DEFAULT_TEAM_SLUG, name: 'Default team' });
    em.create(MembershipSchema, { user, team, role: 'admin' });
    await em.flush();
    return { created: true, email, generatedPassword, team: team.slug };
  } finally {
    await db.close();
  }
}

if (import.meta.main) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('create-admin: DATABASE_URL is not set');
    process.exit(1);
  }
  try {
    const result = await ensureAdmin(databaseUrl, {
      email: process.env.OPSSIGHT_ADMIN_EMAIL || undefined,
      password: process.env.OPSSIGHT_ADMIN_PASSWORD || undefined,
    });
    if (!result.created) console.log(`admin ${result.email} already exists; nothing to do`);
    else if (result.generatedPassword) console.log(`created admin ${result.email} with password ${result.generatedPassword} (shown once)`);
    else console.log(`created admin ${result.email}`);
  } catch (err) {
    console.error(`create-admin: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
