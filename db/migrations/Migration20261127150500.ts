import { Migration } from '@mikro-orm/migrations';

export class Migration20261127150500 extends Migration {

  override name = 'Migration20261127150500';

  override up(): void | Promise<void> {
    this.addSql(`create table "oncall_schedules" ("id" uuid not null, "team_id" uuid not null, "name" varchar(255) not null, "layers" jsonb not null, "overrides" jsonb not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "oncall_schedules" add constraint "oncall_schedules_team_id_name_unique" unique ("team_id", "name");`);

    this.addSql(`create table "escalation_policies" ("id" uuid not null, "team_id" uuid not null, "name" varchar(255) not null, "version" int not null default 1, "is_default" boolean not null default false, "steps" jsonb not null, "repeat" int not null default 0, "ack_timeout_seconds" int not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "escalation_policies" add constraint "escalation_policies_team_id_name_unique" unique ("team_id", "name");`);

    this.addSql(`create table "alerts" ("id" uuid not null, "team_id" uuid not null, "source_id" uuid null, "dedup_key" varchar(255) not null, "status" varchar(255) not null, "severity" varchar(255) not null, "summary" text not null, "details" jsonb not null, "labels" jsonb not null, "count" int not null default 1, "policy_id" uuid null, "policy_version" int null, "policy_snapshot" jsonb null, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, "acknowledged_at" timestamptz null, "acknowledged_by" varchar(255) null, "resolved_at" timestamptz null, "resolved_by" varchar(255) null, primary key ("id"));`);
    this.addSql(`create index "alerts_team_id_first_seen_at_index" on "alerts" ("team_id", "first_seen_at");`);
    this.addSql(`create index "alerts_status_first_seen_at_index" on "alerts" ("status", "first_seen_at");`);
    // One open alert per dedup key and team: a repeat is counted on it, a concurrent first firing loses the race.
    this.addSql(`create unique index "alerts_team_id_dedup_key_open_unique" on "alerts" ("team_id", "dedup_key") where "status" <> 'resolved';`);

    this.addSql(`create table "notification_attempts" ("id" bigserial primary key, "alert_id" uuid not null, "key" varchar(255) not null, "attempt" int not null, "channel" varchar(255) not null, "integration_id" uuid null, "target" varchar(255) not null, "status" varchar(255) not null, "provider_id" varchar(255) null, "error" text null, "latency_ms" int not null, "at" timestamptz not null);`);
    this.addSql(`create index "notification_attempts_alert_id_key_index" on "notification_attempts" ("alert_id", "key");`);

    this.addSql(`create table "alert_events" ("id" bigserial primary key, "alert_id" uuid not null, "at" timestamptz not null, "type" varchar(255) not null, "message" text not null, "data" jsonb null);`);
    this.addSql(`create index "alert_events_alert_id_at_index" on "alert_events" ("alert_id", "at");`);

    this.addSql(`create table "alert_ack_links" ("id" uuid not null, "alert_id" uuid not null, "recipient" varchar(255) not null, "expires_at" timestamptz not null, "used_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "alert_ack_links_alert_id_index" on "alert_ack_links" ("alert_id");`);

    this.addSql(`alter table "oncall_schedules" add constraint "oncall_schedules_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);

    this.addSql(`alter table "escalation_policies" add constraint "escalation_policies_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);

    this.addSql(`alter table "alerts" add constraint "alerts_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);
    this.addSql(`alter table "alerts" add constraint "alerts_source_id_foreign" foreign key ("source_id") references "integrations" ("id") on delete set null;`);

    this.addSql(`alter table "notification_attempts" add constraint "notification_attempts_alert_id_foreign" foreign key ("alert_id") references "alerts" ("id") on delete cascade;`);

    this.addSql(`alter table "alert_events" add constraint "alert_events_alert_id_foreign" foreign key ("alert_id") references "alerts" ("id") on delete cascade;`);

    this.addSql(`alter table "alert_ack_links" add constraint "alert_ack_links_alert_id_foreign" foreign key ("alert_id") references "alerts" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "notification_attempts" drop constraint "notification_attempts_alert_id_foreign";`);
    this.addSql(`alter table "alert_events" drop constraint "alert_events_alert_id_foreign";`);
    this.addSql(`alter table "alert_ack_links" drop constraint "alert_ack_links_alert_id_foreign";`);

    this.addSql(`drop table if exists "oncall_schedules" cascade;`);
    this.addSql(`drop table if exists "escalation_policies" cascade;`);
    this.addSql(`drop table if exists "alerts" cascade;`);
    this.addSql(`drop table if exists "notification_attempts" cascade;`);
    this.addSql(`drop table if exists "alert_events" cascade;`);
    this.addSql(`drop table if exists "alert_ack_links" cascade;`);

  }

}
