import { Migration } from '@mikro-orm/migrations';

export class Migration20261127130000 extends Migration {

  override name = 'Migration20261127130000';

  override up(): void | Promise<void> {
    this.addSql(`create table "schedules" ("id" uuid not null, "team_id" uuid not null, "name" varchar(255) not null, "kind" varchar(255) not null, "params" jsonb not null, "spec" jsonb not null, "overlap" varchar(255) not null, "catchup_window_seconds" int not null, "paused" boolean not null default false, "note" text null, "last_fire_at" timestamptz null, "last_run_id" uuid null, "last_skip" text null, "created_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "schedules" add constraint "schedules_team_id_name_unique" unique ("team_id", "name");`);
    this.addSql(`alter table "schedules" add constraint "schedules_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);
    this.addSql(`alter table "schedules" add constraint "schedules_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "schedules" cascade;`);
  }

}
