import { Migration } from '@mikro-orm/migrations';

// A timeline entry the escalation wrote carries the key of the activity that wrote it, so a retry of
// that activity (its worker killed after the commit, before it reported) finds it and adds nothing.
export class Migration20261128190000 extends Migration {
  override name = 'Migration20261128190000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "alert_events" add column "key" varchar(255) null;`);
    this.addSql(`create unique index "alert_events_alert_id_key_unique" on "alert_events" ("alert_id", "key") where "key" is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "alert_events_alert_id_key_unique";`);
    this.addSql(`alter table "alert_events" drop column "key";`);
  }
}
