import type { Sql } from '@deliberate/persistence';

// Where the signing secrets are stored (endpoints and task_secrets, each with a previous secret during a rotation's
// overlap), and what each is bound to when encrypted: an endpoint's secret to its id, a tenant's task secret to the
// tenant, so a ciphertext copied into another row does not decrypt.

export const endpointSecretContext = (endpointId: string) => `webhooks.endpoint:${endpointId}`;
export const taskSecretContext = (tenantId: string) => `webhooks.task-secret:${tenantId}`;

const SECRET_TABLES = [
  { table: 'endpoints', key: 'id', context: endpointSecretContext },
  { table: 'task_secrets', key: 'tenant_id', context: taskSecretContext },
] as const;

/** A stored value's replacement, or null to leave it. */
export type Reseal = (stored: string, context: string) => string | null;

/**
 * Rewrites the `secret` and `previous_secret` of every row (or of those with a value not sealed with the given key)
 * through `reseal`. Each row is written only if unchanged since it was read, so replicas doing it at once do not clash.
 */
export async function resealSecrets(
  // A migration's QueryRunner also fits: only the rows of SELECTs are read.
  sql: Pick<Sql, 'query'>,
  reseal: Reseal,
  options: { notSealedWithKeyId?: string } = {},
): Promise<number> {
  const notSealedWith = options.notSealedWithKeyId ? `enc:v1:${options.notSealedWithKeyId}:%` : null;
  let changed = 0;
  for (const { table, key, context } of SECRET_TABLES) {
    const rows = await sql.query<{ key: string; secret: string; previous_secret: string | null }>(
      `SELECT ${key}::text AS key, secret, previous_secret FROM ${table}
        WHERE $1::text IS NULL OR secret NOT LIKE $1 OR previous_secret NOT LIKE $1`,
      [notSealedWith],
    );
    for (const row of rows) {
      const secret = reseal(row.secret, context(row.key));
      const previous = row.previous_secret === null ? null : reseal(row.previous_secret, context(row.key));
      if (secret === null && previous === null) continue;
      await sql.query(
        `UPDATE ${table} SET secret = $2, previous_secret = $3
          WHERE ${key}::text = $1 AND secret = $4 AND previous_secret IS NOT DISTINCT FROM $5`,
        [row.key, secret ?? row.secret, previous ?? row.previous_secret, row.secret, row.previous_secret],
      );
      changed += 1;
    }
  }
  return changed;
}
