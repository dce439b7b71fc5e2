import { Migration } from '@mikro-orm/migrations';

// A pipeline run's external build: the record that a trigger is being made is committed before the
// HTTP call, so a retried attempt knows it may already exist and looks for it instead of triggering
// again; `build_key` (the CI system's own name for the build) is unique, so two runs can never
// adopt the same build.
export class Migration20261129050000 extends Migration {
  override name = 'Migration20261129050000';

  override up(): void | Promise<void> {
    this.addSql(`create table "pipeline_builds" (
      "run_id" uuid not null primary key references "runs" ("id") on delete cascade,
      "provider" varchar(16) not null,
      "triggered_at" timestamptz not null,
      "triggers" int not null default 1,
      "queue_id" bigint null,
      "build_id" varchar(64) null,
      "build_url" text null,
      "build_key" text null
    );`);
    this.addSql(`create unique index "pipeline_builds_build_key_unique" on "pipeline_builds" ("build_key") where "build_key" is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table "pipeline_builds";`);
  }
}
