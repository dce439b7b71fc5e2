import { Migration } from '@mikro-orm/migrations';

export class Migration20261126153112 extends Migration {

  override name = 'Migration20261126153112';

  override up(): void | Promise<void> {
    this.addSql(`create table "audit_log" ("id" bigserial primary key, "actor_id" uuid null, "actor_email" varchar(255) null, "action" varchar(255) not null, "resource_type" varchar(255) not null, "resource_id" varchar(255) not null, "team_id" uuid null, "ip" varchar(255) null, "data" jsonb null, "created_at" timestamptz not null);`);
    this.addSql(`create index "audit_log_team_id_index" on "audit_log" ("team_id");`);
    this.addSql(`create index "audit_log_resource_type_resource_id_index" on "audit_log" ("resource_type", "resource_id");`);
    this.addSql(`create index "audit_log_created_at_index" on "audit_log" ("created_at");`);

    this.addSql(`create table "run_events" ("run_id" uuid not null, "seq" int not null, "ts" timestamptz not null, "type" text not null, "level" varchar(255) not null, "stream" varchar(255) null, "message" text not null, "data" jsonb null, "attempt" int not null, primary key ("run_id", "seq"));`);
    this.addSql(`alter table "run_events" add constraint "run_events_type_check" check ("type" in ('log', 'step', 'status', 'approval', 'notification', 'metric'));`);

    this.addSql(`create table "teams" ("id" uuid not null, "slug" varchar(255) not null, "name" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "teams" add constraint "teams_slug_unique" unique ("slug");`);

    this.addSql(`create table "users" ("id" uuid not null, "email" varchar(255) not null, "name" varchar(255) not null, "password_hash" varchar(255) not null, "is_admin" boolean not null default false, "disabled" boolean not null default false, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(`create table "runs" ("id" uuid not null, "kind" varchar(255) not null, "team_id" uuid not null, "status" text not null, "step" varchar(255) null, "target" varchar(255) null, "active_target" varchar(255) null, "params" jsonb not null, "summary" jsonb null, "approval" jsonb null, "error" text null, "requested_by_id" uuid not null, "last_seq" int not null default 0, "created_at" timestamptz not null, "started_at" timestamptz null, "finished_at" timestamptz null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "runs_created_at_id_index" on "runs" ("created_at", "id");`);
    this.addSql(`create index "runs_team_id_created_at_index" on "runs" ("team_id", "created_at");`);
    this.addSql(`create index "runs_status_created_at_index" on "runs" ("status", "created_at");`);
    this.addSql(`create index "runs_kind_target_index" on "runs" ("kind", "target");`);
    this.addSql(`create index "runs_requested_by_id_created_at_index" on "runs" ("requested_by_id", "created_at");`);
    this.addSql(`alter table "runs" add constraint "runs_kind_active_target_unique" unique ("kind", "active_target");`);
    this.addSql(`alter table "runs" add constraint "runs_status_check" check ("status" in ('queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled', 'timed_out'));`);

    this.addSql(`create table "refresh_tokens" ("id" uuid not null, "family" uuid not null, "user_id" uuid not null, "token_hash" varchar(255) not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "revoked_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "refresh_tokens_family_index" on "refresh_tokens" ("family");`);
    this.addSql(`alter table "refresh_tokens" add constraint "refresh_tokens_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "memberships" ("id" uuid not null, "user_id" uuid not null, "team_id" uuid not null, "role" text not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "memberships_user_id_index" on "memberships" ("user_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_user_id_team_id_unique" unique ("user_id", "team_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_role_check" check ("role" in ('viewer', 'operator', 'approver', 'admin'));`);

    this.addSql(`alter table "runs" add constraint "runs_team_id_foreign" foreign key ("team_id") references "teams" ("id");`);
    this.addSql(`alter table "runs" add constraint "runs_requested_by_id_foreign" foreign key ("requested_by_id") references "users" ("id");`);

    this.addSql(`alter table "refresh_tokens" add constraint "refresh_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id");`);

    this.addSql(`alter table "memberships" add constraint "memberships_user_id_foreign" foreign key ("user_id") references "users" ("id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_team_id_foreign" foreign key ("team_id") references "teams" ("id");`);
  }

  override down(): void | Promise<void> {
    for (const table of ['memberships', 'refresh_tokens', 'runs', 'run_events', 'audit_log', 'teams', 'users']) {
      this.addSql(`drop table if exists "${table}" cascade;`);
    }
  }
}
