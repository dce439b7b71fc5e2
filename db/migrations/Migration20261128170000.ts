import { Migration } from '@mikro-orm/migrations';

// An opened alert whose escalation has not been started yet (core/alerts/escalation-start.ts): set in
// the transaction that opens it, cleared once the workflow exists. The partial index keeps the sweep
// for lost starts cheap, since almost every row has it null.
export class Migration20261128170000 extends Migration {
  override name = 'Migration20261128170000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "alerts" add column "escalation_queued_at" timestamptz null;`);
    this.addSql(`create index "alerts_escalation_queued_at_index" on "alerts" ("escalation_queued_at") where "escalation_queued_at" is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "alerts_escalation_queued_at_index";`);
    this.addSql(`alter table "alerts" drop column "escalation_queued_at";`);
  }
}
