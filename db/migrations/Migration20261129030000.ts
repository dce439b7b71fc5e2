import { Migration } from '@mikro-orm/migrations';

// Starting an enrolment now asks for the password again; one started before that (perhaps with a
// stolen access token) must not be confirmable without it. A pending enrolment is only a secret
// waiting for its first code: the user starts again.
export class Migration20261129030000 extends Migration {
  override name = 'Migration20261129030000';

  override up(): void | Promise<void> {
    this.addSql(`delete from "user_mfa" where "enabled_at" is null;`);
  }

  override down(): void | Promise<void> {}
}
