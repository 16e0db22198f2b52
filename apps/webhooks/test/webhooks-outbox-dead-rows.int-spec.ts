jest.setTimeout(120_000);

import { uuidv7, webhookEndpointDisabledEvent } from '@deliberate/contracts';
import { collectMessages, header, pollUntil } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import { startWebhooks, type WebhooksHarness } from './webhooks-harness';

// Rows that can never be published (written by an older release, before payloads were checked when written) are
// set aside as dead with their reason by the sweep, and never hold up the valid row behind them.

let h: WebhooksHarness;

beforeAll(async () => {
  h = await startWebhooks('outbox_dead');
});

afterAll(async () => {
  await h?.close();
});

const plant = async (topic: string, tenantId: string, payload: unknown, ageMs: number): Promise<string> => {
  const id = uuidv7();
  await h.db.query(
    `INSERT INTO outbox (id, topic, tenant_id, task_id, payload, created_at)
     VALUES ($1, $2, $3, NULL, $4, now() - make_interval(secs => $5::double precision / 1000))`,
    [id, topic, tenantId, JSON.stringify(payload), ageMs],
  );
  return id;
};

it('sets aside an invalid row and a row of an unknown topic, and publishes the valid row behind them', async () => {
  const tenantId = 'outbox-dead';
  const disabled = (message: string) => ({
    endpointId: randomUUID(),
    url: 'https://example.com/hook',
    reason: 'manual',
    message,
    disabledAt: new Date().toISOString(),
  });
  const invalid = await plant(
    webhookEndpointDisabledEvent.topic,
    tenantId,
    { ...disabled('x'), reason: 'bored' },
    60_000,
  );
  const unknown = await plant('webhooks.endpoint.renamed.v0', tenantId, disabled('old'), 59_000);
  const valid = await plant(
    webhookEndpointDisabledEvent.topic,
    tenantId,
    disabled('behind the bad rows'),
    58_000,
  );

  const [published] = await collectMessages(h.topic(webhookEndpointDisabledEvent.topic), 1, {
    filter: (m) => header(m, 'ce_tenantid') === tenantId,
  });
  expect(header(published!, 'ce_id')).toBe(valid);
  expect(JSON.parse(published!.value!.toString())).toMatchObject({ message: 'behind the bad rows' });

  // The marks commit with the sweep's transaction, just after the publish.
  const rows = await pollUntil(
    async () =>
      (
        await h.db.query<{ id: string; published: boolean; dead_reason: string | null }>(
          `SELECT id, published_at IS NOT NULL AS published, dead_reason FROM outbox WHERE tenant_id = $1 ORDER BY id`,
          [tenantId],
        )
      ).rows,
    (r) => r.every((row) => row.published || row.dead_reason !== null),
    { what: 'every planted row published or dead' },
  );
  expect(rows).toEqual([
    {
      id: invalid,
      published: false,
      dead_reason: expect.stringMatching(
        /^refusing to publish an invalid webhooks\.endpoint\.disabled\.v1: reason: /,
      ),
    },
    {
      id: unknown,
      published: false,
      dead_reason: 'no event of this service is published on webhooks.endpoint.renamed.v0',
    },
    { id: valid, published: true, dead_reason: null },
  ]);

  const health = await fetch(`${h.url}/health`);
  expect(await health.json()).toEqual({ status: 'ok', outbox: { deadRows: 2 } });
});
