import { Migration } from '@mikro-orm/migrations';

// Where a person is paged beyond email (contracts/alerts/contact.ts): SMS and push steps that notify
// people reach them here.
export class Migration20261128160000 extends Migration {
  override name = 'Migration20261128160000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "users" add column "phone" varchar(16) null, add column "push_tokens" jsonb not null default '[]';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "users" drop column "phone", drop column "push_tokens";`);
  }
}
