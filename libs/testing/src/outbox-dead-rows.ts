/// <reference types="jest" />
import { type EventDefinition, uuidv7 } from '@deliberate/contracts';
import type { Pool } from 'pg';
import { pollUntil } from './poll';
import { collectMessages, header } from './test-kafka';

// The check every service with an outbox runs: rows that can never be published (written by an older release, before
// payloads were checked when written) are set aside as dead with their reason, and the valid row behind them goes out.

export interface OutboxUnderTest {
  /** SQL on the service's schema. */
  db: Pool;
  /** The service's HTTP base URL, for /health. */
  url: string;
  topic(name: string): string;
  close(): Promise<void>;
}

export interface OutboxDeadRowsCase {
  /** `ledger outbox`, ... */
  readonly name: string;
  readonly start: () => Promise<OutboxUnderTest>;
  /** An event the service publishes through its outbox, with valid and invalid data for it. */
  readonly event: EventDefinition;
  readonly valid: Record<string, unknown>;
  readonly invalid: unknown;
  /** The reason the publisher gives for `invalid`. */
  readonly invalidReason: RegExp;
  /** What else the service's /health answers beside its status and outbox (asymmetric matchers welcome). */
  readonly otherHealth?: Record<string, unknown>;
}

type Row = { id: string; published: boolean; dead_reason: string | null };

export function describeOutboxDeadRows(outbox: OutboxDeadRowsCase): void {
  describe(outbox.name, () => {
    let h: OutboxUnderTest | undefined;

    beforeAll(async () => {
      h = await outbox.start();
    });

    afterAll(async () => {
      await h?.close();
    });

    const plant = async (topic: string, tenantId: string, payload: unknown, ageMs: number) => {
      const id = uuidv7();
      await h!.db.query(
        `INSERT INTO outbox (id, topic, tenant_id, payload, created_at)
         VALUES ($1, $2, $3, $4, now() - make_interval(secs => $5::double precision / 1000))`,
        [id, topic, tenantId, JSON.stringify(payload), ageMs],
      );
      return id;
    };

    it('sets aside an invalid row and a row of an unknown topic, and publishes the valid row behind them', async () => {
      const tenantId = 'outbox-dead';
      const topic = outbox.event.topic;
      const unknownTopic = `${topic}.renamed`;
      // Oldest first: the relay meets the rows it cannot publish before the valid one.
      const invalid = await plant(topic, tenantId, outbox.invalid, 60_000);
      const unknown = await plant(unknownTopic, tenantId, outbox.valid, 59_000);
      const valid = await plant(topic, tenantId, outbox.valid, 58_000);

      const [published] = await collectMessages(h!.topic(topic), 1, {
        filter: (m) => header(m, 'ce_tenantid') === tenantId,
      });
      expect(header(published!, 'ce_id')).toBe(valid);
      expect(JSON.parse(published!.value!.toString())).toEqual(outbox.valid);

      // The verdicts commit with the sweep's transaction, just after the publish. Rows are read in the order of their
      // planted ages: uuidv7 ids minted within one millisecond do not sort in the order they were minted.
      const rows = await pollUntil(
        async () =>
          (
            await h!.db.query<Row>(
              `SELECT id, published_at IS NOT NULL AS published, dead_reason FROM outbox WHERE tenant_id = $1
                ORDER BY created_at`,
              [tenantId],
            )
          ).rows,
        (r) => r.every((row) => row.published || row.dead_reason !== null),
        { what: 'every planted outbox row published or dead' },
      );
      expect(rows.map((r) => [r.id, r.published])).toEqual([
        [invalid, false],
        [unknown, false],
        [valid, true],
      ]);
      expect(rows[0]!.dead_reason).toMatch(outbox.invalidReason);
      expect(rows[1]!.dead_reason).toBe(`no event of this service is published on ${unknownTopic}`);
      expect(rows[2]!.dead_reason).toBeNull();

      const health = await fetch(`${h!.url}/health`);
      expect(await health.json()).toEqual({ status: 'ok', ...outbox.otherHealth, outbox: { deadRows: 2 } });
    });
  });
}
