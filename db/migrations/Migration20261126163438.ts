import { Migration } from '@mikro-orm/migrations';

export class Migration20261126163438 extends Migration {

  override name = 'Migration20261126163438';

  override up(): void | Promise<void> {
    this.addSql(`create index "refresh_tokens_user_id_index" on "refresh_tokens" ("user_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "refresh_tokens_user_id_index";`);
  }

}
