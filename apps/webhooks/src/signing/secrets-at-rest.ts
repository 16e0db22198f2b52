import { ColumnCipher, Sql } from '@deliberate/persistence';
import { type DynamicModule, Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { resealSecrets } from './signing-secret.repository';

// Signing secrets are stored encrypted with WEBHOOKS_SECRET_ENCRYPTION_KEY (signing-secret.repository.ts says
// where, and what each is bound to); this is the cipher's token, and its check and rotation at start-up.

export const WEBHOOK_SECRET_CIPHER = Symbol('WEBHOOK_SECRET_CIPHER');

// At start-up: secrets sealed with a previous key are re-encrypted with the current one; a secret sealed with a key
// the service was not given stops the start, naming the variable to set (signing with it would fail later).
@Injectable()
export class SecretKeyRotation implements OnModuleInit {
  private readonly logger = new Logger('SecretKeyRotation');

  constructor(
    private readonly sql: Sql,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: ColumnCipher,
  ) {}

  async onModuleInit(): Promise<void> {
    const unknown = new Map<string, number>();
    const resealed = await this.sql.transaction((tx) => {
      // A transaction redone after a deadlock counts again from nothing.
      unknown.clear();
      return resealSecrets(
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
        { notSealedWithKeyId: this.cipher.keyId },
      ).then((n) => {
        // Nothing is rewritten unless every secret can be read: a wrong key changes nothing.
        if (unknown.size) throw new Error(this.refusal(unknown));
        return n;
      });
    });
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
