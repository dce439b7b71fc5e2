import { Migration } from '@mikro-orm/migrations';

export class Migration20261128130000 extends Migration {

  override name = 'Migration20261128130000';

  override up(): void | Promise<void> {
    this.addSql(`create table "auth_providers" ("id" uuid not null, "slug" varchar(255) not null, "name" varchar(255) not null, "type" varchar(255) not null, "enabled" boolean not null default true, "settings" jsonb not null, "secret" text null, "key_id" varchar(255) null, "secret_fields" jsonb not null, "mappings" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "auth_providers" add constraint "auth_providers_slug_unique" unique ("slug");`);

    this.addSql(`create table "user_identities" ("id" uuid not null, "provider_id" uuid not null, "subject" varchar(255) not null, "user_id" uuid not null, "email" varchar(255) not null, "created_at" timestamptz not null, "last_login_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "user_identities_user_id_index" on "user_identities" ("user_id");`);
    this.addSql(`alter table "user_identities" add constraint "user_identities_provider_id_subject_unique" unique ("provider_id", "subject");`);

    this.addSql(`create table "sso_sessions" ("family" uuid not null, "identity_id" uuid not null, "upstream" text null, "key_id" varchar(255) null, "expires_at" timestamptz not null, "checked_at" timestamptz not null, primary key ("family"));`);
    this.addSql(`create index "sso_sessions_identity_id_index" on "sso_sessions" ("identity_id");`);

    this.addSql(`alter table "user_identities" add constraint "user_identities_provider_id_foreign" foreign key ("provider_id") references "auth_providers" ("id") on delete cascade;`);
    this.addSql(`alter table "user_identities" add constraint "user_identities_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);

    this.addSql(`alter table "sso_sessions" add constraint "sso_sessions_family_foreign" foreign key ("family") references "refresh_families" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_sessions" add constraint "sso_sessions_identity_id_foreign" foreign key ("identity_id") references "user_identities" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "sso_sessions" cascade;`);
    this.addSql(`drop table if exists "user_identities" cascade;`);
    this.addSql(`drop table if exists "auth_providers" cascade;`);
  }

}
