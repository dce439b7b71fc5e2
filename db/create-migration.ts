// Developer command: diff the entities against the database and write db/migrations/Migration<ts>.ts.
import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from './orm.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required (a scratch database with the committed migrations applied)');
  process.exit(1);
}
const orm = await MikroORM.init(ormConfig(url));
try {
  await orm.migrator.up();
  const result = await orm.migrator.create(undefined, false, process.argv.includes('--initial'));
  console.log(result.fileName ? `wrote ${result.fileName}` : 'no changes');
} finally {
  await orm.close(true);
}
