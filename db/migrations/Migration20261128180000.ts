import { Migration } from '@mikro-orm/migrations';

// A schedule's version, raised by every change, so an edit made from an older one is refused instead
// of silently replacing someone else's (the policies have had theirs from the start).
export class Migration20261128180000 extends Migration {
  override name = 'Migration20261128180000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "oncall_schedules" add column "version" int not null default 1;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "oncall_schedules" drop column "version";`);
  }
}
