import { ColumnCipher, parseEncryptionKey } from '@deliberate/persistence';
import { pollUntil } from '@deliberate/testing';
import { WebhooksModule } from '@deliberate/webhooks/app.module';
import { loadWebhooksConfig, type WebhooksConfig } from '@deliberate/webhooks/config';
import { createWebhooksApp } from '@deliberate/webhooks/create-webhooks-app';
import { encryptWebhookSecrets } from '@deliberate/webhooks/migrations/1796000000000-encrypt-webhook-secrets';
import { NestFactory } from '@nestjs/core';
import type { QueryRunner } from 'typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { header, newTask, startWebhooks, tenantPrincipal, type WebhooksHarness } from './webhooks-harness';

const KEY = randomBytes(32).toString('hex');

// A start that fails half-way leaves what already started running: the test closes it (a service process exits).
async function expectRefusedStart(config: WebhooksConfig, problem: RegExp): Promise<void> {
  const app = await NestFactory.create(WebhooksModule.forRoot(config), {
    logger: false,
    abortOnError: false,
  });
  try {
    await expect(app.init()).rejects.toThrow(problem);
  } finally {
    await app.close();
  }
}

// Signing secrets are stored encrypted with WEBHOOKS_SECRET_ENCRYPTION_KEY; deliveries are signed with the clear ones.
describe('webhook signing secrets at rest (real Postgres and Kafka)', () => {
  let h: WebhooksHarness;

  beforeAll(async () => {
    h = await startWebhooks('webhooks-secrets-at-rest', { env: { WEBHOOKS_SECRET_ENCRYPTION_KEY: KEY } });
  });

  afterAll(async () => {
    await h?.close();
  });

  const storedSecrets = async () =>
    (
      await h.db.query<{ secret: string; previous_secret: string | null }>(
        `SELECT secret, previous_secret FROM endpoints UNION ALL SELECT secret, previous_secret FROM task_secrets`,
      )
    ).rows.flatMap((r) => (r.previous_secret ? [r.secret, r.previous_secret] : [r.secret]));

  it('stores no secret in clear, and deliveries still verify with the secret shown once', async () => {
    const endpoint = await h.registerEndpoint('vault-co', `${h.receiver.url}/endpoint`);
    const taskSecret = await h.http<{ secret: string }>('POST', '/v1/webhooks/task-secret', {
      principal: tenantPrincipal('vault-co'),
    });
    expect(taskSecret.status).toBe(201);
    const rotated = await h.http<{ secret: string }>(
      'POST',
      `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`,
      {
        principal: tenantPrincipal('vault-co'),
        body: { overlapSeconds: 3600 },
      },
    );
    expect(rotated.status).toBe(200);

    const stored = await storedSecrets();
    expect(stored).toHaveLength(3);
    for (const value of stored) {
      expect(value).toMatch(/^enc:v1:[0-9a-f]{16}:/);
      for (const secret of [endpoint.secret, rotated.body.secret, taskSecret.body.secret]) {
        expect(value).not.toContain(secret);
        expect(value).not.toContain(secret.replace(/^whsec_/, ''));
      }
    }

    const task = newTask('vault-co', `${h.receiver.url}/task`);
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const requests = await pollUntil(
      () => Promise.resolve(h.receiver.requests.filter((r) => r.body.includes(task.taskId))),
      (r) => r.length === 2,
      { timeoutMs: 20_000, what: 'the endpoint and the task URL deliveries' },
    );
    const headersOf = (path: string) => {
      const r = requests.find((q) => q.path === path)!;
      return {
        body: r.body,
        headers: {
          'webhook-id': header(r, 'webhook-id'),
          'webhook-timestamp': header(r, 'webhook-timestamp'),
          'webhook-signature': header(r, 'webhook-signature'),
        },
      };
    };
    const toEndpoint = headersOf('/endpoint');
    // During the overlap both the new and the old endpoint secret sign.
    expect(() => new Webhook(rotated.body.secret).verify(toEndpoint.body, toEndpoint.headers)).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(toEndpoint.body, toEndpoint.headers)).not.toThrow();
    const toTask = headersOf('/task');
    expect(() => new Webhook(taskSecret.body.secret).verify(toTask.body, toTask.headers)).not.toThrow();
  });

  it('encrypts the secrets a previous version stored in clear, and its down migration writes them back', async () => {
    const cipher = new ColumnCipher(parseEncryptionKey(KEY)!, 'WEBHOOKS_SECRET_ENCRYPTION_KEY');
    const id = randomUUID();
    await h.db.query(
      `INSERT INTO endpoints (id, tenant_id, url, event_types, status, secret, previous_secret)
       VALUES ($1, 'legacy-co', 'https://legacy.example/hook', '{task.completed}', 'enabled', 'whsec_bGVnYWN5', 'whsec_b2xk')`,
      [id],
    );
    await h.db.query(`INSERT INTO task_secrets (tenant_id, secret) VALUES ('legacy-co', 'whsec_dGFzaw==')`);
    const queries = {
      query: (sql: string, params?: unknown[]) => h.db.query(sql, params).then((r) => r.rows),
    };
    const Migration = encryptWebhookSecrets(cipher);
    await new Migration().up(queries as unknown as QueryRunner);

    const row = async () =>
      (
        await h.db.query<{ secret: string; previous_secret: string; task_secret: string }>(
          `SELECT e.secret, e.previous_secret, t.secret AS task_secret
             FROM endpoints e, task_secrets t WHERE e.id = $1 AND t.tenant_id = 'legacy-co'`,
          [id],
        )
      ).rows[0]!;
    const encrypted = await row();
    expect(Object.values(encrypted).every((v) => ColumnCipher.isEncrypted(v))).toBe(true);
    expect(cipher.decrypt(encrypted.secret, `webhooks.endpoint:${id}`)).toBe('whsec_bGVnYWN5');
    expect(cipher.decrypt(encrypted.task_secret, 'webhooks.task-secret:legacy-co')).toBe('whsec_dGFzaw==');

    await new Migration().down(queries as unknown as QueryRunner);
    expect(await row()).toEqual({
      secret: 'whsec_bGVnYWN5',
      previous_secret: 'whsec_b2xk',
      task_secret: 'whsec_dGFzaw==',
    });
    // Up again: every secret, the other tests' too, is encrypted once more.
    await new Migration().up(queries as unknown as QueryRunner);
    expect((await storedSecrets()).every((v) => ColumnCipher.keyIdOf(v) === cipher.keyId)).toBe(true);
    await h.db.query(`DELETE FROM endpoints WHERE id = $1`, [id]);
    await h.db.query(`DELETE FROM task_secrets WHERE tenant_id = 'legacy-co'`);
  });

  it('refuses to start with another key, naming the variable, and changes nothing', async () => {
    const before = await storedSecrets();
    const otherKey = randomBytes(32).toString('base64');
    const config = loadWebhooksConfig({ ...h.env, WEBHOOKS_SECRET_ENCRYPTION_KEY: otherKey });
    await expectRefusedStart(
      config,
      /WEBHOOKS_SECRET_ENCRYPTION_KEY: stored webhook signing secrets cannot be read with key [0-9a-f]{16} \(3 encrypted with key [0-9a-f]{16}\)/,
    );
    expect(await storedSecrets()).toEqual(before);
  });

  it('re-encrypts every secret with a new key when the old one is listed as previous', async () => {
    const newKey = randomBytes(32).toString('hex');
    const cipher = new ColumnCipher(parseEncryptionKey(newKey)!, 'WEBHOOKS_SECRET_ENCRYPTION_KEY');
    const app = await createWebhooksApp(
      loadWebhooksConfig({
        ...h.env,
        WEBHOOKS_SECRET_ENCRYPTION_KEY: newKey,
        WEBHOOKS_SECRET_ENCRYPTION_PREVIOUS_KEYS: KEY,
        WEBHOOKS_DISPATCHER_ENABLED: 'false',
      }),
    );
    try {
      const stored = await storedSecrets();
      expect(stored.map((s) => ColumnCipher.keyIdOf(s))).toEqual(stored.map(() => cipher.keyId));
    } finally {
      await app.close();
    }
    // The old key alone no longer reads them.
    await expect(createWebhooksApp(loadWebhooksConfig(h.env))).rejects.toThrow(
      /WEBHOOKS_SECRET_ENCRYPTION_KEY/,
    );
  });
});
