import { Migration } from '@mikro-orm/migrations';

export class Migration20261127150000 extends Migration {

  override name = 'Migration20261127150000';

  override up(): void | Promise<void> {
    // Every change to a run row, by the API or a worker, tells the API processes listening which team's
    // run lists went stale (api cache: core/cache/run-list-changes.ts). Identical notifications of one
    // transaction are delivered once.
    this.addSql(`create or replace function "opssight_runs_changed"() returns trigger language plpgsql as $$
begin
  perform pg_notify('opssight_runs_changed', (case when tg_op = 'DELETE' then old.team_id else new.team_id end)::text);
  return null;
end $$;`);
    this.addSql(`create trigger "runs_changed" after insert or update or delete on "runs" for each row execute function "opssight_runs_changed"();`);
    // The team list likewise (teams are also made outside the API: scripts, fixtures).
    this.addSql(`create or replace function "opssight_teams_changed"() returns trigger language plpgsql as $$
begin
  perform pg_notify('opssight_teams_changed', '');
  return null;
end $$;`);
    this.addSql(`create trigger "teams_changed" after insert or update or delete or truncate on "teams" for each statement execute function "opssight_teams_changed"();`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "teams_changed" on "teams";`);
    this.addSql(`drop function if exists "opssight_teams_changed"();`);
    this.addSql(`drop trigger if exists "runs_changed" on "runs";`);
    this.addSql(`drop function if exists "opssight_runs_changed"();`);
  }

}
