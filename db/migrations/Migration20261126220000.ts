import { Migration } from '@mikro-orm/migrations';

export class Migration20261126220000 extends Migration {

  override name = 'Migration20261126220000';

  override up(): void | Promise<void> {
    this.addSql(`create table "run_processes" ("id" uuid not null, "run_id" uuid not null, "step" varchar(255) not null, "command" varchar(255) not null, "launch" int not null, "side_effects" boolean not null, "host_id" varchar(255) not null, "dir" text not null, "started_at" timestamptz not null, "exit_code" int null, "outcome" varchar(255) null, "ended_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "run_processes" add constraint "run_processes_launch_unique" unique ("run_id", "step", "command", "launch");`);
    this.addSql(`alter table "run_processes" add constraint "run_processes_run_id_foreign" foreign key ("run_id") references "runs" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "terraform_plans" add column "prior_serial" int null, add column "prior_lineage" varchar(255) null;`);
    this.addSql(`create table "terraform_unsaved_states" ("id" uuid not null, "run_id" uuid not null, "proc_id" uuid not null, "schema" varchar(255) not null, "state" text not null, "created_at" timestamptz not null, "pushed_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "terraform_unsaved_states_run_id_index" on "terraform_unsaved_states" ("run_id");`);
    this.addSql(`alter table "terraform_unsaved_states" add constraint "terraform_unsaved_states_proc_id_unique" unique ("proc_id");`);
    this.addSql(`alter table "terraform_unsaved_states" add constraint "terraform_unsaved_states_run_id_foreign" foreign key ("run_id") references "runs" ("id") on update cascade on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "terraform_unsaved_states" cascade;`);
    this.addSql(`alter table "terraform_plans" drop column "prior_serial", drop column "prior_lineage";`);
    this.addSql(`drop table if exists "run_processes" cascade;`);
  }

}
