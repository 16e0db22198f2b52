import type { MigrationInterface, QueryRunner } from 'typeorm';

// A reserve names its hold with the caller's reservation key: one reservation per (tenant, key), whatever the number
// of retries, with a fingerprint of the request so a different request under a used key is refused. A booking says
// which API key and project it was spent through, and is flagged when it exceeded its hold or was an aborted call's.
export class KeyReservationsAndFlagBookings1796400000000 implements MigrationInterface {
  name = 'KeyReservationsAndFlagBookings1796400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE reservations ADD COLUMN reservation_key text, ADD COLUMN request_fingerprint text`,
    );
    await q.query(
      `CREATE UNIQUE INDEX reservations_tenant_key ON reservations (tenant_id, reservation_key)
        WHERE reservation_key IS NOT NULL`,
    );
    await q.query(
      `ALTER TABLE bookings ADD COLUMN api_key_id text, ADD COLUMN project text,
         ADD COLUMN exceeded_hold_micro_usd bigint CHECK (exceeded_hold_micro_usd > 0),
         ADD COLUMN aborted boolean NOT NULL DEFAULT false`,
    );
    // Bookings made against a reservation before this migration take its key and project.
    await q.query(
      `UPDATE bookings b SET api_key_id = r.api_key_id, project = r.project
         FROM reservations r
        WHERE b.reservation_id = r.id AND (r.api_key_id IS NOT NULL OR r.project IS NOT NULL)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE bookings DROP COLUMN aborted, DROP COLUMN exceeded_hold_micro_usd, DROP COLUMN project,
         DROP COLUMN api_key_id`,
    );
    await q.query(`DROP INDEX reservations_tenant_key`);
    await q.query(`ALTER TABLE reservations DROP COLUMN request_fingerprint, DROP COLUMN reservation_key`);
  }
}
