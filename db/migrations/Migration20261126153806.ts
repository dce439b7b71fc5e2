import { Migration } from '@mikro-orm/migrations';

export class Migration20261126153806 extends Migration {

  override name = 'Migration20261126153806';

  override up(): void | Promise<void> {
    this.addSql(`create table "terraform_plans" ("id" uuid not null, "run_id" uuid not null, "workspace" varchar(255) not null, "plan" bytea not null, "summary" jsonb not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "terraform_plans_run_id_index" on "terraform_plans" ("run_id");`);

    this.addSql(`alter table "terraform_plans" add constraint "terraform_plans_run_id_foreign" foreign key ("run_id") references "runs" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "terraform_plans" cascade;`);
  }

}
