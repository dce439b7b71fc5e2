import { Migration } from '@mikro-orm/migrations';

export class Migration20261127120000 extends Migration {

  override name = 'Migration20261127120000';

  override up(): void | Promise<void> {
    // Runs the platform starts (schedules, webhooks, alerts) have a requester of their own and no user.
    this.addSql(`alter table "runs" add column "requester" jsonb null;`);
    this.addSql(`update "runs" r set "requester" = jsonb_build_object('type', 'user', 'id', u."id"::text, 'label', u."email") from "users" u where u."id" = r."requested_by_id";`);
    this.addSql(`alter table "runs" alter column "requester" set not null;`);
    this.addSql(`alter table "runs" alter column "requested_by_id" drop not null;`);
    // One active run per target within a team: another team's workspace of the same name is another workspace.
    this.addSql(`alter table "runs" drop constraint "runs_kind_active_target_unique";`);
    this.addSql(`alter table "runs" add constraint "runs_team_kind_active_target_unique" unique ("team_id", "kind", "active_target");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "runs" drop constraint "runs_team_kind_active_target_unique";`);
    this.addSql(`alter table "runs" add constraint "runs_kind_active_target_unique" unique ("kind", "active_target");`);
    this.addSql(`delete from "runs" where "requested_by_id" is null;`);
    this.addSql(`alter table "runs" alter column "requested_by_id" set not null;`);
    this.addSql(`alter table "runs" drop column "requester";`);
  }

}
