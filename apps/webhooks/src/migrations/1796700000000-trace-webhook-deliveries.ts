import type { MigrationInterface, QueryRunner } from 'typeorm';

// A delivery attempt joins the trace of the task it announces: the W3C traceparent of the consumed terminal event is
// kept with the event, copied to its messages, and each attempt's span is started under it. Only a well-formed value
// is stored (a traceparent arrives in Kafka headers a producer chose).
const TRACEPARENT = `'^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'`;

export class TraceWebhookDeliveries1796700000000 implements MigrationInterface {
  name = 'TraceWebhookDeliveries1796700000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['terminal_events', 'messages']) {
      await q.query(
        `ALTER TABLE ${table} ADD COLUMN traceparent text CHECK (traceparent IS NULL OR traceparent ~ ${TRACEPARENT})`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['terminal_events', 'messages'])
      await q.query(`ALTER TABLE ${table} DROP COLUMN traceparent`);
  }
}
