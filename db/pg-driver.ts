import type { Configuration } from '@mikro-orm/core';
import { PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';

type Dialect = ReturnType<PostgreSqlConnection['createKyselyDialect']>;
type KyselyDriver = ReturnType<Dialect['createDriver']>;

/**
 * Kysely's transaction returns its connection to the pool only after a ROLLBACK that succeeded
 * (kysely-org/kysely#1990, open). A transaction whose connection PostgreSQL dropped (a restart, a
 * terminated backend) cannot roll back, so every such transaction used to keep a pool slot for good:
 * enough of them and every query waited, and the pool could not be closed. A rollback that fails here
 * is given up on (MikroORM already reports it and rethrows the transaction's own error), so Kysely
 * releases the connection: pg's pool drops a dead client, and a live one runs the ROLLBACK it was
 * sent before the next query it is given.
 */
function releasingDriver(driver: KyselyDriver): KyselyDriver {
  const rollback = driver.rollbackTransaction.bind(driver);
  driver.rollbackTransaction = async (connection) => {
    await rollback(connection).catch(() => undefined);
  };
  return driver;
}

class ReleasingConnection extends PostgreSqlConnection {
  override createKyselyDialect(overrides: Parameters<PostgreSqlConnection['createKyselyDialect']>[0]): Dialect {
    const dialect = super.createKyselyDialect(overrides);
    const createDriver = dialect.createDriver.bind(dialect);
    dialect.createDriver = () => releasingDriver(createDriver());
    return dialect;
  }
}

/** MikroORM's PostgreSQL driver, with connections that go back to the pool after a failed rollback. */
export class OpsSightPostgreSqlDriver extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    // The base class builds its own connection in its constructor and offers no way to choose another.
    (this as unknown as { connection: PostgreSqlConnection }).connection = new ReleasingConnection(this.config);
  }
}
