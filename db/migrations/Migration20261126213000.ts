import { Migration } from '@mikro-orm/migrations';

export class Migration20261126213000 extends Migration {

  override name = 'Migration20261126213000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "runs" drop constraint if exists "runs_status_check";`);
    this.addSql(`alter table "runs" add constraint "runs_status_check" check ("status" in ('queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'discarded', 'cancelled', 'timed_out'));`);
    this.addSql(`alter table "runs" add column "cancel_request" jsonb null;`);
    // A rejected plan was recorded as failed before `discarded` existed.
    this.addSql(`update "runs" set "status" = 'discarded' where "status" = 'failed' and "approval"->>'decision' = 'rejected';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`update "runs" set "status" = 'failed' where "status" = 'discarded';`);
    this.addSql(`alter table "runs" drop column "cancel_request";`);
    this.addSql(`alter table "runs" drop constraint if exists "runs_status_check";`);
    this.addSql(`alter table "runs" add constraint "runs_status_check" check ("status" in ('queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled', 'timed_out'));`);
  }

}
