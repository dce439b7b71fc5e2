import { Migration } from '@mikro-orm/migrations';

// A custom role's description may be 500 characters (the API's limit); varchar(255) refused the rest
// with a 500 the fuzzer found.
export class Migration20261128150000 extends Migration {
  override name = 'Migration20261128150000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "custom_roles" alter column "description" type text;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "custom_roles" alter column "description" type varchar(255);`);
  }
}
