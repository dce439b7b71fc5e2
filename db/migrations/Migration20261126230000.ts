import { Migration } from '@mikro-orm/migrations';

export class Migration20261126230000 extends Migration {

  override name = 'Migration20261126230000';

  override up(): void | Promise<void> {
    // Time spent awaiting approval, kept apart from time working (the run's duration counted both).
    this.addSql(`alter table "runs" add column "waiting_ms" bigint not null default 0, add column "waiting_since" timestamptz null;`);
    // Runs waiting now started waiting when their row last changed.
    this.addSql(`update "runs" set "waiting_since" = "updated_at" where "status" = 'awaiting_approval';`);
    // A password an admin set is single use: its first sign-in must replace it.
    this.addSql(`alter table "users" add column "password_change_required" boolean not null default false;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "users" drop column "password_change_required";`);
    this.addSql(`alter table "runs" drop column "waiting_since", drop column "waiting_ms";`);
  }

}
