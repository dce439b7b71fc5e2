import { Migration } from '@mikro-orm/migrations';

/**
 * Team settings (contracts/teams.ts). Teams that exist now keep working as before: four-eyes off.
 * New teams get the full defaults from the application (four-eyes on), so the column has no default.
 */
export class Migration20261127091000 extends Migration {

  override name = 'Migration20261127091000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "teams" add column "settings" jsonb not null default '{"fourEyes": false}';`);
    this.addSql(`alter table "teams" alter column "settings" drop default;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "teams" drop column "settings";`);
  }

}
