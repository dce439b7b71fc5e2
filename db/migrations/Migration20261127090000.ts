import { Migration } from '@mikro-orm/migrations';

/**
 * Refresh families become rows: rotation locks its family, so concurrent refreshes with one token
 * cannot both win, and a revoked family stays revoked (before, only a Redis marker that expired with
 * the access-token lifetime said so). Existing families are revoked if any of their tokens was.
 */
export class Migration20261127090000 extends Migration {

  override name = 'Migration20261127090000';

  override up(): void | Promise<void> {
    this.addSql(`create table "refresh_families" ("id" uuid not null, "user_id" uuid not null, "created_at" timestamptz not null, "revoked_at" timestamptz null, "revoked_reason" varchar(255) null, primary key ("id"));`);
    this.addSql(`create index "refresh_families_user_id_index" on "refresh_families" ("user_id");`);
    this.addSql(`alter table "refresh_families" add constraint "refresh_families_user_id_foreign" foreign key ("user_id") references "users" ("id");`);
    this.addSql(`insert into "refresh_families" ("id", "user_id", "created_at", "revoked_at", "revoked_reason")
      select "family", (array_agg("user_id"))[1], min("created_at"),
             case when bool_or("revoked_at" is not null) then now() end,
             case when bool_or("revoked_at" is not null) then 'revoked before migration' end
      from "refresh_tokens" group by "family";`);
    this.addSql(`update "refresh_tokens" t set "revoked_at" = f."revoked_at" from "refresh_families" f where t."family" = f."id" and f."revoked_at" is not null and t."revoked_at" is null;`);
    this.addSql(`alter table "refresh_tokens" add constraint "refresh_tokens_family_foreign" foreign key ("family") references "refresh_families" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "refresh_tokens" drop constraint "refresh_tokens_family_foreign";`);
    this.addSql(`drop table "refresh_families";`);
  }

}
