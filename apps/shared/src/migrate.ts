// Schema migrations with node-pg-migrate (SQL files, `-- Up Migration` /
// `-- Down Migration`). Replicas may start together: node-pg-migrate takes a
// Postgres advisory lock and "wait" mode makes the others queue behind it, and
// each service keeps its own migrations table so services sharing a database
// never see each other's history.
import { runner } from "node-pg-migrate";
import type { FastifyBaseLogger } from "fastify";

export interface MigrationOptions {
  readonly databaseUrl: string;
  /** Directory holding the SQL migration files. */
  readonly dir: string;
  readonly table: string;
  readonly logger: FastifyBaseLogger;
  /** Give up after this long when the database stays unreachable. */
  readonly timeoutMs?: number;
}

export async function migrateUp(options: MigrationOptions): Promise<string[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      const applied = await runner({
        databaseUrl: options.databaseUrl,
        dir: options.dir,
        migrationsTable: options.table,
        direction: "up",
        count: Infinity,
        advisoryLockMode: "wait",
        checkOrder: true,
        logger: { debug: () => {}, info: (m: string) => options.logger.debug(m), warn: (m: string) => options.logger.warn(m), error: (m: string) => options.logger.error(m) },
      });
      return applied.map((m) => m.name);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      // The database may still be starting (a fresh pod, a restarting container): back off and retry.
      const delayMs = Math.min(200 * 2 ** attempt, 5000);
      options.logger.warn({ err, attempt, delayMs }, "migrations failed, retrying");
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
