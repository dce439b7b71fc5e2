import { Migration } from '@mikro-orm/migrations';

export class Migration20261128120000 extends Migration {

  override name = 'Migration20261128120000';

  override up(): void | Promise<void> {
    this.addSql(`create table "cost_reports" ("id" bigserial primary key, "team_id" uuid not null, "integration_id" uuid not null, "run_id" uuid not null, "at" timestamptz not null, "totals" jsonb not null, "open_findings" int not null, "estimated_monthly_savings" double precision not null);`);
    this.addSql(`alter table "cost_reports" add constraint "cost_reports_run_id_unique" unique ("run_id");`);
    this.addSql(`create index "cost_reports_team_id_at_index" on "cost_reports" ("team_id", "at");`);
    this.addSql(`create index "cost_reports_integration_id_at_index" on "cost_reports" ("integration_id", "at");`);

    this.addSql(`create table "cost_findings" ("id" uuid not null, "team_id" uuid not null, "integration_id" uuid not null, "type" varchar(255) not null, "region" varchar(255) not null, "resource_id" varchar(255) not null, "owner" varchar(255) null, "detail" text not null, "monthly_savings" double precision not null, "status" varchar(255) not null, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, "first_run_id" uuid not null, "last_run_id" uuid not null, "resolved_at" timestamptz null, "resolved_run_id" uuid null, "action_run_id" uuid null, "realised_monthly_savings" double precision null, primary key ("id"));`);
    this.addSql(`create index "cost_findings_team_id_first_seen_at_index" on "cost_findings" ("team_id", "first_seen_at");`);
    this.addSql(`create index "cost_findings_integration_id_status_index" on "cost_findings" ("integration_id", "status");`);
    // One open finding per account, type and resource: a scan that sees it again only moves last-seen.
    this.addSql(`create unique index "cost_findings_open_unique" on "cost_findings" ("integration_id", "type", "resource_id") where "status" = 'open';`);

    this.addSql(`alter table "cost_reports" add constraint "cost_reports_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);
    this.addSql(`alter table "cost_reports" add constraint "cost_reports_integration_id_foreign" foreign key ("integration_id") references "integrations" ("id") on delete cascade;`);

    this.addSql(`alter table "cost_findings" add constraint "cost_findings_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);
    this.addSql(`alter table "cost_findings" add constraint "cost_findings_integration_id_foreign" foreign key ("integration_id") references "integrations" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "cost_reports" cascade;`);
    this.addSql(`drop table if exists "cost_findings" cascade;`);
  }

}
