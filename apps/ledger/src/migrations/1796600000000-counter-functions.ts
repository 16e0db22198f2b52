import type { MigrationInterface, QueryRunner } from 'typeorm';

// A reservation or a booking moves every period counter it touches (the tenant's, the API key's and the project's
// day and month) in one statement: the functions walk the counters in the order they are given (the lock order),
// one conditional UPDATE each, so a transaction spends one round trip on them, not one per counter, and holds the
// hot rows (a tenant's day and month) for that one statement and its commit only.
//
// p_keys: [{"scope", "scopeId", "period", "periodStart", "limit"}] for hold_counters (limit null: unlimited);
// [{"scope", "scopeId", "period", "periodStart", "held", "spent"}] for move_counters.
export class CounterFunctions1796600000000 implements MigrationInterface {
  name = 'CounterFunctions1796600000000';

  async up(q: QueryRunner): Promise<void> {
    // Adds p_amount to what each counter holds while spent + held + p_amount stays within its limit, creating a
    // missing counter first. Stops at the first counter that refuses: its row comes back with o_held false and what
    // it had, and the caller rolls the transaction back (the holds taken before it with it).
    await q.query(`
      CREATE FUNCTION hold_counters(p_tenant text, p_keys jsonb, p_amount bigint)
      RETURNS TABLE (o_held boolean, o_spent bigint, o_reserved bigint)
      LANGUAGE plpgsql AS $$
      DECLARE
        k jsonb;
        v_limit bigint;
        v_spent bigint;
        v_reserved bigint;
        v_try integer;
        v_held boolean;
      BEGIN
        FOR k IN SELECT value FROM jsonb_array_elements(p_keys) LOOP
          v_limit := (k->>'limit')::bigint;
          -- Refused, or not there yet: the first miss creates the counter (an insert on a row another transaction
          -- holds waits for its commit) and asks once more, which settles which it was.
          FOR v_try IN 1..2 LOOP
            UPDATE spend_counters c
               SET reserved_micro_usd = c.reserved_micro_usd + p_amount, updated_at = now()
             WHERE c.tenant_id = p_tenant AND c.scope = k->>'scope' AND c.scope_id = k->>'scopeId'
               AND c.period = k->>'period' AND c.period_start = (k->>'periodStart')::date
               AND (v_limit IS NULL OR c.spent_micro_usd + c.reserved_micro_usd + p_amount <= v_limit)
            RETURNING c.spent_micro_usd, c.reserved_micro_usd INTO v_spent, v_reserved;
            -- FOUND is the UPDATE's here; after END LOOP it would be the loop's own (always true).
            v_held := FOUND;
            EXIT WHEN v_held OR v_try = 2;
            INSERT INTO spend_counters (tenant_id, scope, scope_id, period, period_start)
            VALUES (p_tenant, k->>'scope', k->>'scopeId', k->>'period', (k->>'periodStart')::date)
            ON CONFLICT DO NOTHING;
          END LOOP;
          IF NOT v_held THEN
            SELECT c.spent_micro_usd, c.reserved_micro_usd INTO v_spent, v_reserved
              FROM spend_counters c
             WHERE c.tenant_id = p_tenant AND c.scope = k->>'scope' AND c.scope_id = k->>'scopeId'
               AND c.period = k->>'period' AND c.period_start = (k->>'periodStart')::date;
            o_held := false;
            o_spent := COALESCE(v_spent, 0);
            o_reserved := COALESCE(v_reserved, 0);
            RETURN NEXT;
            RETURN;
          END IF;
          o_held := true;
          o_spent := v_spent;
          o_reserved := v_reserved;
          RETURN NEXT;
        END LOOP;
      END $$`);
    // Moves each counter by its own amounts: "held" leaves what is reserved and "spent" joins what is spent. With
    // p_create a missing counter is created (spend booked without a hold); without it a missing counter is an error.
    await q.query(`
      CREATE FUNCTION move_counters(p_tenant text, p_moves jsonb, p_create boolean)
      RETURNS TABLE (o_spent bigint, o_reserved bigint)
      LANGUAGE plpgsql AS $$
      DECLARE
        k jsonb;
      BEGIN
        FOR k IN SELECT value FROM jsonb_array_elements(p_moves) LOOP
          IF p_create THEN
            INSERT INTO spend_counters AS c (tenant_id, scope, scope_id, period, period_start, spent_micro_usd)
            VALUES (p_tenant, k->>'scope', k->>'scopeId', k->>'period', (k->>'periodStart')::date,
                    (k->>'spent')::bigint)
            ON CONFLICT (tenant_id, scope, scope_id, period, period_start) DO UPDATE
               SET reserved_micro_usd = c.reserved_micro_usd - (k->>'held')::bigint,
                   spent_micro_usd = c.spent_micro_usd + (k->>'spent')::bigint, updated_at = now()
            RETURNING c.spent_micro_usd, c.reserved_micro_usd INTO o_spent, o_reserved;
          ELSE
            UPDATE spend_counters c
               SET reserved_micro_usd = c.reserved_micro_usd - (k->>'held')::bigint,
                   spent_micro_usd = c.spent_micro_usd + (k->>'spent')::bigint, updated_at = now()
             WHERE c.tenant_id = p_tenant AND c.scope = k->>'scope' AND c.scope_id = k->>'scopeId'
               AND c.period = k->>'period' AND c.period_start = (k->>'periodStart')::date
            RETURNING c.spent_micro_usd, c.reserved_micro_usd INTO o_spent, o_reserved;
            IF NOT FOUND THEN
              RAISE EXCEPTION 'spend counter % of tenant % is missing', k, p_tenant;
            END IF;
          END IF;
          RETURN NEXT;
        END LOOP;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION move_counters(text, jsonb, boolean)`);
    await q.query(`DROP FUNCTION hold_counters(text, jsonb, bigint)`);
  }
}
