import { Migration } from '@mikro-orm/migrations';

export class Migration20261127140000 extends Migration {

  override name = 'Migration20261127140000';

  override up(): void | Promise<void> {
    this.addSql(`create table "monitor_transitions" ("id" bigserial primary key, "team_id" uuid not null, "monitor" varchar(255) not null, "check" varchar(255) not null, "from" varchar(255) not null, "to" varchar(255) not null, "at" timestamptz not null, "run_id" uuid not null, "detail" text not null);`);
    this.addSql(`create index "monitor_transitions_team_id_at_index" on "monitor_transitions" ("team_id", "at");`);
    this.addSql(`create table "monitor_checks" ("team_id" uuid not null, "monitor" varchar(255) not null, "check" varchar(255) not null, "type" varchar(255) not null, "status" varchar(255) not null, "consecutive_failures" int not null default 0, "since" timestamptz not null, "last_checked_at" timestamptz not null, "last_run_id" uuid not null, "last_ok" boolean not null, "last_latency_ms" int not null, "last_detail" text not null, primary key ("team_id", "monitor", "check"));`);
    this.addSql(`alter table "monitor_transitions" add constraint "monitor_transitions_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);
    this.addSql(`alter table "monitor_checks" add constraint "monitor_checks_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "monitor_transitions" cascade;`);
    this.addSql(`drop table if exists "monitor_checks" cascade;`);
  }

}
