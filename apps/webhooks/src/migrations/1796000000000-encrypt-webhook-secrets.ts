import { ColumnCipher } from '@deliberate/persistence';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { resealSecrets } from '../signing/signing-secret.repository';

// Signing secrets stored in clear are encrypted with WEBHOOKS_SECRET_ENCRYPTION_KEY; `down` writes them back in
// clear. The migration needs the key, so the module builds it around the service's cipher.
export function encryptWebhookSecrets(cipher: ColumnCipher): new () => MigrationInterface {
  return class EncryptWebhookSecrets1796000000000 implements MigrationInterface {
    name = 'EncryptWebhookSecrets1796000000000';

    async up(q: QueryRunner): Promise<void> {
      await resealSecrets(q, (stored, context) =>
        ColumnCipher.isEncrypted(stored) ? null : cipher.encrypt(stored, context),
      );
    }

    async down(q: QueryRunner): Promise<void> {
      await resealSecrets(q, (stored, context) =>
        ColumnCipher.isEncrypted(stored) ? cipher.decrypt(stored, context) : null,
      );
    }
  };
}
