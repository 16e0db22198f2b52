import type { MigrationInterface, QueryRunner } from 'typeorm';

// A call booked at its hold's worst case because it was cut off (a blind abort) may report its real usage later:
// that usage replaces the worst case. The abort booking keeps what it had booked and names the booking that replaced
// it (its cost becomes 0, so a sum over bookings is what was spent); the replacing booking names the one it replaced.
export class SupersedeAbortedBookings1796500000000 implements MigrationInterface {
  name = 'SupersedeAbortedBookings1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE bookings ADD COLUMN supersedes_event_id text, ADD COLUMN superseded_by_event_id text,
         ADD COLUMN superseded_cost_micro_usd bigint CHECK (superseded_cost_micro_usd >= 0),
         ADD COLUMN superseded_at timestamptz`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Undone, a replaced abort booking gets its worst case back and the replacing one is kept: both stay booked,
    // as before this migration (the counters were moved once and are not touched).
    await q.query(
      `UPDATE bookings SET cost_micro_usd = superseded_cost_micro_usd WHERE superseded_cost_micro_usd IS NOT NULL`,
    );
    await q.query(
      `ALTER TABLE bookings DROP COLUMN superseded_at, DROP COLUMN superseded_cost_micro_usd,
         DROP COLUMN superseded_by_event_id, DROP COLUMN supersedes_event_id`,
    );
  }
}
