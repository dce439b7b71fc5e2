import { Migration } from '@mikro-orm/migrations';

export class Migration20261126214537 extends Migration {

  override name = 'Migration20261126214537';

  override up(): void | Promise<void> {
    this.addSql(`create table "integrations" ("id" uuid not null, "team_id" uuid not null, "type" varchar(255) not null, "name" varchar(255) not null, "settings" jsonb not null, "secret" text not null, "key_id" varchar(255) not null, "secret_fields" jsonb not null, "fingerprint" varchar(255) null, "public_key" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "integrations_key_id_index" on "integrations" ("key_id");`);
    this.addSql(`create index "integrations_team_id_type_index" on "integrations" ("team_id", "type");`);
    this.addSql(`alter table "integrations" add constraint "integrations_team_id_name_unique" unique ("team_id", "name");`);

    this.addSql(`create table "run_integrations" ("run_id" uuid not null, "integration_id" uuid not null, primary key ("run_id", "integration_id"));`);
    this.addSql(`create index "run_integrations_integration_id_index" on "run_integrations" ("integration_id");`);

    this.addSql(`alter table "integrations" add constraint "integrations_team_id_foreign" foreign key ("team_id") references "teams" ("id");`);

    this.addSql(`alter table "run_integrations" add constraint "run_integrations_run_id_foreign" foreign key ("run_id") references "runs" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "run_integrations" add constraint "run_integrations_integration_id_foreign" foreign key ("integration_id") references "integrations" ("id") on update cascade on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "run_integrations";`);
    this.addSql(`drop table if exists "integrations";`);
  }

}
