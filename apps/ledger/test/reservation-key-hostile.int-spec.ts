jest.setTimeout(120_000);

import { deadLetterTopic, LEDGER_PATTERNS } from '@deliberate/contracts';
import { ReservationService } from '@deliberate/ledger/reservations/reservation.service';
import { TEST_KAFKA_BROKERS, testKafka } from '@deliberate/testing';
import { ClientKafka } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, timeout } from 'rxjs';
import { type LedgerHarness, readTopic, startLedger } from './ledger-harness';

// A reservation key is the caller's idempotency key for one hold: two different requests racing under one key get
// one hold and one refusal, and a key Postgres cannot store (NUL, a lone surrogate) or one far too long is a precise
// invalid_request, never ledger_unavailable (which callers wait out as an outage) and never a dead letter.

let h: LedgerHarness;

beforeAll(async () => {
  h = await startLedger('key-hostile');
});

afterAll(async () => {
  await h?.close();
});

const request = (tenantId: string, reservationKey: string, over: Record<string, unknown> = {}) => ({
  reservationKey,
  tenantId,
  taskId: randomUUID(),
  model: 'sim-fast',
  estimatedInputTokens: 1_000,
  maxOutputTokens: 1_000,
  ...over,
});

const reservedMicroUsd = async (tenantId: string) =>
  Number(
    (
      await h.db.query<{ reserved: string }>(
        `SELECT coalesce(sum(reserved_micro_usd), 0)::text AS reserved FROM spend_counters
          WHERE tenant_id = $1 AND scope = 'tenant' AND period = 'day'`,
        [tenantId],
      )
    ).rows[0]!.reserved,
  );

// A dead-letter topic that was never created holds nothing.
async function deadLetters(topic: string) {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return [];
  } finally {
    await admin.disconnect();
  }
  return readTopic(topic);
}

const reservations = async (tenantId: string) =>
  (await h.db.query(`SELECT reservation_key FROM reservations WHERE tenant_id = $1`, [tenantId])).rows;

describe('two different requests under one reservation key at once', () => {
  it('hold once: one is approved, every other is invalid_request naming the key', async () => {
    const tenantId = 'key-race-bodies';
    const key = `call-${randomUUID()}`;
    const service = h.apps[0]!.get(ReservationService);
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        service.reserve(request(tenantId, key, { maxOutputTokens: 1_000 + i }), {
          requestId: `correlation-${i}-${randomUUID()}`,
          ageMs: 1,
        }),
      ),
    );
    const approved = replies.filter((r) => r.approved);
    const refused = replies.filter((r) => !r.approved);
    expect(approved).toHaveLength(1);
    expect(refused).toHaveLength(5);
    for (const reply of refused) {
      expect(reply).toMatchObject({ approved: false, reason: 'invalid_request', policy: null });
      if (!reply.approved) expect(reply.message).toContain(key);
    }
    expect(await reservations(tenantId)).toEqual([{ reservation_key: key }]);
    if (!approved[0]!.approved) throw new Error('denied');
    expect(await reservedMicroUsd(tenantId)).toBe(approved[0]!.amountMicroUsd);
  });

  it('through Kafka as well: one approval and one invalid_request', async () => {
    const tenantId = 'key-race-kafka';
    const key = `call-${randomUUID()}`;
    const [a, b] = await Promise.all([
      h.client.reserve(request(tenantId, key)),
      h.client.reserve(request(tenantId, key, { maxOutputTokens: 2_000 })),
    ]);
    expect([a, b].map((r) => (r.approved ? 'approved' : r.reason)).sort()).toEqual([
      'approved',
      'invalid_request',
    ]);
    expect(await reservations(tenantId)).toHaveLength(1);
  });
});

describe('a reservation key the ledger cannot keep', () => {
  const cases: [string, string][] = [
    ['a NUL', 'call-\u0000-1'],
    ['a lone high surrogate', 'call-\ud800-1'],
    ['a lone low surrogate', 'call-\udfff-1'],
    ['10,000 characters', 'k'.repeat(10_000)],
    ['an empty key', ''],
  ];

  it.each(cases)(
    'with %s is refused invalid_request naming reservationKey, holding nothing',
    async (_, key) => {
      const tenantId = `key-bad-${randomUUID().slice(0, 8)}`;
      const reply = await h.apps[0]!.get(ReservationService).reserve(request(tenantId, key));
      expect(reply).toMatchObject({ approved: false, reason: 'invalid_request', policy: null });
      if (!reply.approved) expect(reply.message).toContain('reservationKey');
      expect(await reservations(tenantId)).toEqual([]);
      expect(await reservedMicroUsd(tenantId)).toBe(0);
    },
  );

  it('two keys that differ only in their lone surrogates are never taken for one', async () => {
    const tenantId = 'key-surrogates';
    const first = await h.client.reserve(request(tenantId, 'call-\ud800'));
    const second = await h.client.reserve(request(tenantId, 'call-\udbff'));
    expect([first, second]).toEqual([
      expect.objectContaining({ approved: false, reason: 'invalid_request' }),
      expect.objectContaining({ approved: false, reason: 'invalid_request' }),
    ]);
    expect(await reservations(tenantId)).toEqual([]);
  });

  it('asked through the ledger client, is refused invalid_request and nothing is dead-lettered', async () => {
    const tenantId = 'key-bad-kafka';
    const replies = [];
    for (const key of ['nul-\u0000', 'x'.repeat(10_000)])
      replies.push(await h.client.reserve(request(tenantId, key)));
    for (const reply of replies) expect(reply).toMatchObject({ approved: false, reason: 'invalid_request' });
    expect(await deadLetters(h.topic(deadLetterTopic(LEDGER_PATTERNS.reserve)))).toEqual([]);
    expect(await reservations(tenantId)).toEqual([]);
  });
});

describe('hostile reserves sent past the ledger client, straight onto the request topic', () => {
  let raw: ClientKafka;

  beforeAll(async () => {
    raw = new ClientKafka({
      postfixId: '',
      client: { clientId: 'ledger-key-hostile-raw', brokers: TEST_KAFKA_BROKERS },
      consumer: { groupId: `${h.prefix}key-hostile-replies`, maxWaitTimeInMs: 100 },
    });
    raw.subscribeToResponseOf(h.topic(LEDGER_PATTERNS.reserve));
    await raw.connect();
    // A new reply group resolves its offsets (the log end) on its first fetch: replies before it would be missed.
    await new Promise<void>((resolve) => {
      const remove = raw.consumer.on(raw.consumer.events.FETCH, () => {
        remove();
        resolve();
      });
    });
  });

  afterAll(async () => {
    await raw?.close();
  });

  const send = (data: unknown) =>
    firstValueFrom(raw.send<unknown>(h.topic(LEDGER_PATTERNS.reserve), data).pipe(timeout(15_000)));

  const cases: [string, Record<string, unknown>, string][] = [
    ['a NUL in the key', { reservationKey: 'raw-\u0000' }, 'reservationKey'],
    ['a lone surrogate in the key', { reservationKey: 'raw-\ud800' }, 'reservationKey'],
    ['a 10,000-character key', { reservationKey: 'r'.repeat(10_000) }, 'reservationKey'],
    ['a key that is a number', { reservationKey: 42 }, 'reservationKey'],
    ['a key that is an object', { reservationKey: { id: 'x' } }, 'reservationKey'],
    ['a NUL in the project', { reservationKey: 'raw-project', project: 'apollo\u0000' }, 'project'],
    ['a NUL in the API key id', { reservationKey: 'raw-key-id', apiKeyId: '\u0000' }, 'apiKeyId'],
    ['a NUL in the tenant', { tenantId: 'raw\u0000' }, 'tenantId'],
  ];

  it.each(cases)(
    '%s is answered invalid_request naming the field, holding nothing',
    async (_, over, field) => {
      const tenantId = 'key-raw';
      const reply = await send({ ...request(tenantId, `raw-${randomUUID()}`), ...over });
      expect(reply).toMatchObject({ approved: false, reason: 'invalid_request', policy: null });
      expect((reply as { message: string }).message).toContain(field);
      expect(await reservations(tenantId)).toEqual([]);
    },
  );

  it('dead-letters none of them', async () => {
    expect(await deadLetters(h.topic(deadLetterTopic(LEDGER_PATTERNS.reserve)))).toEqual([]);
  });
});
