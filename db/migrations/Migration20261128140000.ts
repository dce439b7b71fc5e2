import { Migration } from '@mikro-orm/migrations';

export class Migration20261128140000 extends Migration {

  override name = 'Migration20261128140000';

  override up(): void | Promise<void> {
    this.addSql(`create table "custom_roles" ("id" uuid not null, "name" varchar(255) not null, "description" varchar(255) not null default '', "permissions" jsonb not null, "approval_targets" jsonb null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "custom_roles" add constraint "custom_roles_name_unique" unique ("name");`);

    this.addSql(`create table "api_tokens" ("id" uuid not null, "user_id" uuid not null, "team_id" uuid not null, "name" varchar(255) not null, "permissions" jsonb not null, "token_hash" varchar(255) not null, "prefix" varchar(255) not null, "expires_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "api_tokens_user_id_index" on "api_tokens" ("user_id");`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "user_mfa" ("user_id" uuid not null, "secret" text not null, "enabled_at" timestamptz null, "recovery_codes" jsonb not null, "last_step" bigint null, "created_at" timestamptz not null, primary key ("user_id"));`);

    this.addSql(`alter table "refresh_families" add "user_agent" varchar(512) null, add "ip" varchar(255) null, add "last_used_at" timestamptz null;`);

    this.addSql(`alter table "memberships" add "custom_role_id" uuid null;`);
    this.addSql(`alter table "memberships" add constraint "memberships_custom_role_id_foreign" foreign key ("custom_role_id") references "custom_roles" ("id") on delete set null;`);
    this.addSql(`create index "memberships_custom_role_id_index" on "memberships" ("custom_role_id");`);

    this.addSql(`alter table "api_tokens" add constraint "api_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_team_id_foreign" foreign key ("team_id") references "teams" ("id") on delete cascade;`);

    this.addSql(`alter table "user_mfa" add constraint "user_mfa_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "memberships" drop constraint "memberships_custom_role_id_foreign";`);
    this.addSql(`drop index "memberships_custom_role_id_index";`);
    this.addSql(`alter table "memberships" drop column "custom_role_id";`);
    this.addSql(`alter table "refresh_families" drop column "user_agent", drop column "ip", drop column "last_used_at";`);
    this.addSql(`drop table if exists "custom_roles" cascade;`);
    this.addSql(`drop table if exists "api_tokens" cascade;`);
    this.addSql(`drop table if exists "user_mfa" cascade;`);
  }

}
