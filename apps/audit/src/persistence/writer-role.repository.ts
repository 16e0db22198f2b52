import { quoteIdent, type Sql } from '@deliberate/persistence';
import { CHAIN_WRITE_FUNCTIONS } from '../migrations/1796500000000-restrict-chain-writes';
import { PARTITION_FUNCTIONS } from '../migrations/1796800000000-partition-records-by-time';

// The grants that make the writer role able to append and read, never to rewrite: run by the schema's owner. The
// writer reads the tables and changes them only through the owner's functions (SECURITY DEFINER), which append to a
// chain's head, store checkpoints of stored records and purge expired prefixes, nothing else.

/** Creates the writer role if needed and grants it exactly what the service needs, one start-up at a time. */
export async function grantWriterRole(
  owner: Sql,
  schema: string,
  writer: { role: string; password?: string | undefined; retentionDays: number; partitionDays: number },
): Promise<void> {
  const role = quoteIdent(writer.role);
  await owner.transaction(async (tx) => {
    // Roles are cluster-wide and GRANTs of concurrent starts collide ("tuple concurrently updated"): one at a time.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('deliberate.audit.grants'))`);
    await tx.execute(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${writer.role}') THEN
          CREATE ROLE ${role} LOGIN;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    if (writer.password) {
      // ALTER ROLE takes no parameters: quote the password as a literal.
      await tx.execute(`ALTER ROLE ${role} PASSWORD '${writer.password.replace(/'/g, "''")}'`);
    }
    await tx.execute(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
    // Whatever an earlier version granted (INSERT on records, UPDATE on chain_heads) is taken back first.
    await tx.execute(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`);
    await tx.execute(`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${schema} FROM ${role}`);
    await tx.execute(
      `GRANT SELECT ON ${schema}.records, ${schema}.checkpoints, ${schema}.chain_heads, ${schema}.settings TO ${role}`,
    );
    for (const fn of [...CHAIN_WRITE_FUNCTIONS, ...PARTITION_FUNCTIONS, 'purge_expired(text, timestamptz)']) {
      await tx.execute(`GRANT EXECUTE ON FUNCTION ${schema}.${fn} TO ${role}`);
    }
    // The database refuses a purge inside the configured retention, whatever the caller asks.
    await tx.execute(`UPDATE ${schema}.settings SET retention_floor_days = $1, partition_days = $2`, [
      writer.retentionDays,
      writer.partitionDays,
    ]);
  });
}

export async function currentUser(sql: Sql): Promise<string> {
  return (await sql.one<{ current_user: string }>('SELECT current_user')).current_user;
}
