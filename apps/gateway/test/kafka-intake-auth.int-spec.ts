import { CE_HEADERS, deadLetterTopic, taskSubmittedEvent } from '@deliberate/contracts';
import { collectMessages, header, pollUntil, signedIntakeHeaders, testKafka } from '@deliberate/testing';
import type { KafkaMessage, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { type GatewayHarness, startGateway } from './gateway-harness';

// ce_tenantid is only a claim: a submission on the intake topic is admitted only when it carries a signature made
// with one of its tenant's intake secrets, issued and rotated through the admin API.

const ADMIN_KEY = 'intake-auth-platform-admin-0123456789';

interface Secret {
  id: string;
  secret: string;
}

describe('signed Kafka submissions', () => {
  let h: GatewayHarness;
  let prefix: string;
  let producer: Producer;
  const admins: Record<string, string> = {};
  const submitters: Record<string, string> = {};

  async function http(method: string, path: string, key: string, body?: unknown) {
    const res = await h.call<ReturnType<typeof JSON.parse>>(method, path, {
      key,
      ...(body !== undefined ? { body } : {}),
    });
    return { status: res.status, body: res.body };
  }

  async function issueSecret(tenant: string, body?: unknown): Promise<Secret> {
    const res = await http('POST', `/v1/admin/tenants/${tenant}/intake-secrets`, admins[tenant]!, body);
    expect(res.status).toBe(201);
    return res.body as Secret;
  }

  const data = (input: string) => ({ input, mode: 'fast' });

  /** A binary-mode submission; `headers` replaces the signature headers (or adds to them). */
  function binary(tenant: string, taskId: string, value: string, headers: Record<string, string>) {
    return {
      key: taskId,
      value,
      headers: {
        [CE_HEADERS.specversion]: '1.0',
        [CE_HEADERS.id]: randomUUID(),
        [CE_HEADERS.type]: taskSubmittedEvent.topic,
        [CE_HEADERS.source]: 'urn:test:upstream',
        [CE_HEADERS.tenantId]: tenant,
        [CE_HEADERS.taskId]: taskId,
        'content-type': 'application/json',
        ...headers,
      },
    };
  }

  function signed(tenant: string, secrets: string | string[], input: string, taskId = randomUUID()) {
    const value = JSON.stringify(data(input));
    return binary(tenant, taskId, value, signedIntakeHeaders(secrets, taskId, value));
  }

  async function send(...messages: { key: string; value: string; headers: Record<string, string> }[]) {
    await producer.send({ topic: `${prefix}${taskSubmittedEvent.topic}`, messages });
  }

  async function storedTasks(ids: string[]): Promise<string[]> {
    const { rows } = await h.db.query<{ id: string }>(
      `SELECT id FROM gateway.tasks WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((r) => r.id).sort();
  }

  async function waitForTasks(ids: string[]): Promise<void> {
    await pollUntil(
      () => storedTasks(ids),
      (found) => found.length === ids.length,
      { timeoutMs: 30_000, what: `tasks ${ids.join(', ')}` },
    );
  }

  /** The gateway's dead letters for these message keys, by key. */
  async function deadLetters(keys: string[]): Promise<Map<string, KafkaMessage>> {
    const wanted = new Set(keys);
    const found = await collectMessages(
      `${prefix}${deadLetterTopic(taskSubmittedEvent.topic)}`,
      keys.length,
      {
        timeoutMs: 30_000,
        filter: (m) => m.key !== null && wanted.has(m.key.toString()),
      },
    );
    return new Map(found.map((m) => [m.key!.toString(), m]));
  }

  beforeAll(async () => {
    h = await startGateway('intake_auth', { adminKey: ADMIN_KEY });
    prefix = h.prefix;
    for (const tenant of ['acme', 'globex', 'initech']) {
      const created = await http('POST', '/v1/admin/tenants', ADMIN_KEY, { id: tenant, name: tenant });
      expect(created).toMatchObject({ status: 201 });
      for (const role of ['admin', 'submitter'] as const) {
        const key = await http('POST', `/v1/admin/tenants/${tenant}/api-keys`, ADMIN_KEY, { role });
        expect(key).toMatchObject({ status: 201 });
        (role === 'admin' ? admins : submitters)[tenant] = key.body['key'];
      }
    }
    producer = testKafka().producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await h?.close();
  });

  describe('the admin API', () => {
    it("issues a whsec_ secret once, to the platform admin or the tenant's admin, and lists it without its value", async () => {
      const byPlatform = await http('POST', '/v1/admin/tenants/globex/intake-secrets', ADMIN_KEY);
      expect(byPlatform.status).toBe(201);
      expect(byPlatform.body).toMatchObject({
        tenantId: 'globex',
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
        status: 'active',
        expiresAt: null,
        revokedAt: null,
      });
      const byTenantAdmin = await http('POST', '/v1/admin/tenants/globex/intake-secrets', admins['globex']!);
      expect(byTenantAdmin.status).toBe(201);
      expect(byTenantAdmin.body['secret']).not.toBe(byPlatform.body['secret']);

      const listed = await http('GET', '/v1/admin/tenants/globex/intake-secrets', admins['globex']!);
      expect(listed.status).toBe(200);
      expect(listed.body.map((s: { id: string }) => s.id)).toEqual([
        byTenantAdmin.body['id'],
        byPlatform.body['id'],
      ]);
      expect(listed.body[0]).toMatchObject({ status: 'active', expiresAt: null });
      expect(listed.body[1]).toMatchObject({ status: 'expiring', expiresAt: expect.any(String) });
      const text = JSON.stringify(listed.body);
      expect(text).not.toContain(byPlatform.body['secret'].slice(6, 30));
      expect(text).not.toContain(byTenantAdmin.body['secret'].slice(6, 30));
    });

    it("answers 404 to another tenant's admin, 403 to a submitter, 400 to a bad body, 404 for an unknown tenant or secret", async () => {
      for (const [method, path] of [
        ['POST', '/v1/admin/tenants/globex/intake-secrets'],
        ['GET', '/v1/admin/tenants/globex/intake-secrets'],
        ['DELETE', `/v1/admin/tenants/globex/intake-secrets/${randomUUID()}`],
      ] as const) {
        expect((await http(method, path, admins['acme']!)).status).toBe(404);
        expect((await http(method, path, submitters['globex']!)).status).toBe(403);
      }
      for (const body of [{ overlapSeconds: -1 }, { overlapSeconds: 'a day' }, { overlap: 60 }]) {
        const res = await http('POST', '/v1/admin/tenants/globex/intake-secrets', ADMIN_KEY, body);
        expect(res.status).toBe(400);
        expect(res.body['message']).toMatch(/overlap/);
      }
      expect((await http('POST', '/v1/admin/tenants/nobody/intake-secrets', ADMIN_KEY)).status).toBe(404);
      const revokeUnknown = await http(
        'DELETE',
        `/v1/admin/tenants/globex/intake-secrets/${randomUUID()}`,
        ADMIN_KEY,
      );
      expect(revokeUnknown.status).toBe(404);
      expect(
        (await http('DELETE', '/v1/admin/tenants/globex/intake-secrets/not-a-uuid', ADMIN_KEY)).status,
      ).toBe(404);
    });
  });

  describe('the intake consumer', () => {
    let acme: Secret;
    let globex: Secret;

    beforeAll(async () => {
      acme = await issueSecret('acme');
      globex = await issueSecret('globex');
    });

    it('admits a submission signed for its tenant, in binary and structured mode and by a Standard Webhooks library', async () => {
      const structuredId = randomUUID();
      const structured = JSON.stringify({
        specversion: '1.0',
        id: randomUUID(),
        type: taskSubmittedEvent.topic,
        source: 'urn:test:upstream',
        tenantid: 'acme',
        taskid: structuredId,
        data: data('Structured and signed.'),
      });
      const libraryId = randomUUID();
      const libraryValue = JSON.stringify(data('Signed by the standardwebhooks package.'));
      const now = new Date();
      const viaLibrary = binary('acme', libraryId, libraryValue, {
        'deliberate-timestamp': String(Math.floor(now.getTime() / 1000)),
        'deliberate-signature': new Webhook(acme.secret).sign(libraryId, now, libraryValue),
      });
      const plain = signed('acme', acme.secret, 'Binary and signed.');
      await send(
        plain,
        {
          key: structuredId,
          value: structured,
          headers: signedIntakeHeaders(acme.secret, structuredId, structured),
        },
        viaLibrary,
      );
      await waitForTasks([plain.key, structuredId, libraryId]);
      const task = await http('GET', `/v1/tasks/${plain.key}`, submitters['acme']!);
      expect(task.body).toMatchObject({ id: plain.key, submittedVia: 'kafka' });
    });

    it('dead-letters unsigned, wrongly signed, foreign-signed, tampered, moved and stale submissions with the reason, storing no task', async () => {
      const id = () => randomUUID();
      const value = (input: string) => JSON.stringify(data(input));
      const ts = Math.floor(Date.now() / 1000);

      const unsigned = binary('acme', id(), value('No signature.'), {});
      const noTimestamp = binary('acme', id(), value('No timestamp.'), {
        'deliberate-signature': 'v1,AAAA',
      });
      const wrongSecret = signed('acme', 'whsec_' + Buffer.alloc(32, 7).toString('base64'), 'Wrong secret.');
      // Signed correctly, but with globex's secret while claiming acme.
      const foreign = signed('acme', globex.secret, 'Foreign secret.');
      const tamperedId = id();
      const tampered = binary(
        'acme',
        tamperedId,
        value('Pay 10 USD.'),
        signedIntakeHeaders(acme.secret, tamperedId, value('Pay 1 USD.')),
      );
      // A valid signature for one task id moved onto another task id.
      const movedId = id();
      const moved = binary(
        'acme',
        movedId,
        value('Moved.'),
        signedIntakeHeaders(acme.secret, id(), value('Moved.')),
      );
      const staleId = id();
      const stale = binary(
        'acme',
        staleId,
        value('Stale.'),
        signedIntakeHeaders(acme.secret, staleId, value('Stale.'), ts - 600),
      );
      const futureId = id();
      const future = binary(
        'acme',
        futureId,
        value('From the future.'),
        signedIntakeHeaders(acme.secret, futureId, value('From the future.'), ts + 600),
      );
      // A tenant that never issued an intake secret.
      const noSecret = signed('initech', acme.secret, 'No secret issued.');
      const valid = signed('acme', acme.secret, 'The valid neighbour.');

      const rejected = {
        unsigned,
        noTimestamp,
        wrongSecret,
        foreign,
        tampered,
        moved,
        stale,
        future,
        noSecret,
      };
      await send(...Object.values(rejected), valid);
      await waitForTasks([valid.key]);

      const dead = await deadLetters(Object.values(rejected).map((m) => m.key));
      const reason = (m: { key: string }) => header(dead.get(m.key)!, 'dlq_reason');
      for (const m of Object.values(rejected)) {
        expect(header(dead.get(m.key)!, 'dlq_stage')).toBe('handler');
        expect(header(dead.get(m.key)!, 'dlq_attempts')).toBe('1');
        expect(header(dead.get(m.key)!, 'dlq_consumer_group')).toBe(`${prefix}deliberate.gateway.intake`);
      }
      expect(reason(unsigned)).toBe(
        "unsigned submission: the deliberate-timestamp and deliberate-signature headers are required (tenant 'acme')",
      );
      expect(reason(noTimestamp)).toContain('deliberate-timestamp');
      for (const m of [wrongSecret, foreign, tampered, moved]) {
        expect(reason(m)).toBe(
          `no signature matches an intake secret of tenant 'acme' (signed content: task id, deliberate-timestamp, message value)`,
        );
      }
      expect(reason(stale)).toMatch(
        /^stale signature: deliberate-timestamp is 600 s before the message's timestamp/,
      );
      expect(reason(future)).toMatch(
        /^stale signature: deliberate-timestamp is 600 s after the message's timestamp/,
      );
      expect(reason(noSecret)).toBe(
        "tenant 'initech' has no valid intake secret; issue one with POST /v1/admin/tenants/initech/intake-secrets",
      );
      expect(await storedTasks(Object.values(rejected).map((m) => m.key))).toEqual([]);
    });

    it('accepts the old and the new secret during a rotation overlap; an overlap of 0 and a revocation end a secret at once', async () => {
      const first = await issueSecret('globex');
      const second = await issueSecret('globex'); // default overlap: the first stays valid for 24 h
      const both = [
        signed('globex', first.secret, 'Old secret during the overlap.'),
        signed('globex', second.secret, 'New secret.'),
        signed('globex', [second.secret, first.secret], 'Both signatures, as a producer mid-rotation sends.'),
      ];
      await send(...both);
      await waitForTasks(both.map((m) => m.key));

      const third = await issueSecret('globex', { overlapSeconds: 0 }); // every earlier secret ends now
      const listed = await http('GET', '/v1/admin/tenants/globex/intake-secrets', ADMIN_KEY);
      const statusOf = (s: Secret) => listed.body.find((l: { id: string }) => l.id === s.id)?.status;
      expect([statusOf(third), statusOf(second), statusOf(first)]).toEqual(['active', 'expired', 'expired']);

      const revoked = await http(
        'DELETE',
        `/v1/admin/tenants/globex/intake-secrets/${third.id}`,
        admins['globex']!,
      );
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id: third.id, status: 'revoked', revokedAt: expect.any(String) });
      const fourth = await issueSecret('globex');

      const ended = [
        signed('globex', first.secret, 'Old secret after an overlap of 0.'),
        signed('globex', second.secret, 'Second secret after an overlap of 0.'),
        signed('globex', third.secret, 'Revoked secret.'),
      ];
      const current = signed('globex', fourth.secret, 'The current secret.');
      await send(...ended, current);
      await waitForTasks([current.key]);
      const dead = await deadLetters(ended.map((m) => m.key));
      for (const m of ended) {
        expect(header(dead.get(m.key)!, 'dlq_reason')).toBe(
          `no signature matches an intake secret of tenant 'globex' (signed content: task id, deliberate-timestamp, message value)`,
        );
      }
      expect(await storedTasks(ended.map((m) => m.key))).toEqual([]);
    });
  });
});
