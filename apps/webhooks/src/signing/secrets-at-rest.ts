import { ColumnCipher, type Sql } from '@deliberate/persistence';
import { type DynamicModule, Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';

// Signing secrets are stored encrypted (WEBHOOKS_SECRET_ENCRYPTION_KEY), each bound to its row: an endpoint's to
// its id, a tenant's task secret to the tenant, so a ciphertext copied into another row does not decrypt.

export const WEBHOOK_SECRET_CIPHER = Symbol('WEBHOOK_SECRET_CIPHER');

export const endpointSecretContext = (endpointId: string) => `webhooks.endpoint:${endpointId}`;
export const taskSecretContext = (tenantId: string) => `webhooks.task-secret:${tenantId}`;

const SECRET_TABLES = [
  { table: 'endpoints', key: 'id', context: endpointSecretContext },
  { table: 'task_secrets', key: 'tenant_id', context: taskSecretContext },
] as const;

/** A stored value's replacement, or null to leave it. */
export type Reseal = (stored: string, context: string) => string | null;

/**
 * Rewrites the `secret` and `previous_secret` of every row (optionally only those `where` selects) through
 * `reseal`. Each row is written only if unchanged since it was read, so replicas doing it at once do not clash.
 */
export async function resealSecrets(sql: Sql, reseal: Reseal, where = 'true'): Promise<number> {
  let changed = 0;
  for (const { table, key, context } of SECRET_TABLES) {
    const rows = await sql.query<{ key: string; secret: string; previous_secret: string | null }[]>(
      `SELECT ${key}::text AS key, secret, previous_secret FROM ${table} WHERE ${where}`,
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

// At start-up: secrets sealed with a previous key are re-encrypted with the current one; a secret sealed with a key
// the service was not given stops the start, naming the variable to set (signing with it would fail later).
@Injectable()
export class SecretKeyRotation implements OnModuleInit {
  private readonly logger = new Logger('SecretKeyRotation');

  constructor(
    private readonly dataSource: DataSource,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: ColumnCipher,
  ) {}

  async onModuleInit(): Promise<void> {
    const current = `enc:v1:${this.cipher.keyId}:%`;
    const unknown = new Map<string, number>();
    const resealed = await this.dataSource.transaction((tx) =>
      resealSecrets(
        tx,
        (stored, context) => {
          const keyId = ColumnCipher.keyIdOf(stored);
          if (keyId === this.cipher.keyId) return null;
          // In clear: written by a replica older than the encryption migration, during a rolling upgrade.
          if (keyId === null) return this.cipher.encrypt(stored, context);
          if (this.cipher.knows(keyId))
            return this.cipher.encrypt(this.cipher.decrypt(stored, context), context);
          unknown.set(keyId, (unknown.get(keyId) ?? 0) + 1);
          return null;
        },
        `secret NOT LIKE '${current}' OR (previous_secret IS NOT NULL AND previous_secret NOT LIKE '${current}')`,
      ).then((n) => {
        // Nothing is rewritten unless every secret can be read: a wrong key changes nothing.
        if (unknown.size) throw new Error(this.refusal(unknown));
        return n;
      }),
    );
    if (resealed) {
      this.logger.log({
        msg: 'signing secrets encrypted with the current key',
        rows: resealed,
        keyId: this.cipher.keyId,
      });
    }
  }

  private refusal(unknown: Map<string, number>): string {
    const parts = [...unknown].map(([keyId, n]) => `${n} encrypted with key ${keyId}`);
    return (
      `WEBHOOKS_SECRET_ENCRYPTION_KEY: stored webhook signing secrets cannot be read with key ${this.cipher.keyId} ` +
      `(${parts.join(', ')}): set WEBHOOKS_SECRET_ENCRYPTION_KEY to the key they were encrypted with, or list ` +
      `that key in WEBHOOKS_SECRET_ENCRYPTION_PREVIOUS_KEYS to re-encrypt them with the new one`
    );
  }
}

// Global, so its start-up check runs before the modules that connect to Kafka or start timers: a refused start
// leaves nothing running.
@Module({})
export class SecretsAtRestModule {
  static forRoot(cipher: ColumnCipher): DynamicModule {
    return {
      module: SecretsAtRestModule,
      global: true,
      providers: [{ provide: WEBHOOK_SECRET_CIPHER, useValue: cipher }, SecretKeyRotation],
      exports: [WEBHOOK_SECRET_CIPHER],
    };
  }
}
