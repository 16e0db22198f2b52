import { pollUntil } from '@deliberate/testing';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// Service tiers by latency budget: the tenant's policy sends work that can wait ten minutes or more at flex prices.
// The reasoning tier speaks the Responses API (which has service_tier), the standard tier chat completions (which has
// not). What the simulator billed, and at which tier, is compared with what the ledger held and booked.

interface BilledCall {
  clientRequestId: string | null;
  model: string;
  serviceTier: 'default' | 'flex';
  costMicroUsd: number;
}

interface BookingRow {
  reservation_id: string;
  model: string;
  service_tier: string;
  cost_micro_usd: string;
  source: string;
}

const FLEX_FROM_TEN_MINUTES = { serviceTiers: [{ minLatencyBudgetMs: 600_000, tier: 'flex' as const }] };

describe('reasoner: service tiers by latency budget', () => {
  let h: ReasonerHarness;

  beforeAll(async () => {
    h = await startHarness('reasoner-service-tiers');
    await h.putPolicy('patient', FLEX_FROM_TEN_MINUTES);
    await h.putPolicy('chat-only', { ...FLEX_FROM_TEN_MINUTES, fallback: ['standard'] });
    await h.startReasoner({ LLM_REASONING_API: 'responses' });
  });

  afterAll(async () => {
    await h?.close();
  });

  const billed = async (): Promise<BilledCall[]> =>
    ((await (await fetch(`${h.simulator.url}/v1/bill`)).json()) as { calls: BilledCall[] }).calls;

  // The task's bookings once each of its reservations has one (settle and usage event both booked).
  const bookingsOf = (taskId: string, count: number) =>
    pollUntil(
      async () =>
        (
          await h.ledgerDb.query<BookingRow>(
            `SELECT reservation_id, model, service_tier, cost_micro_usd::text, source
               FROM bookings WHERE task_id = $1 ORDER BY event_time`,
            [taskId],
          )
        ).rows,
      (rows) => rows.length === count,
      { what: `${count} booking(s) of task ${taskId}`, timeoutMs: 20_000 },
    );

  const holdsOf = async (taskId: string) =>
    (
      await h.ledgerDb.query<{ id: string; status: string; amount_micro_usd: string; service_tier: string }>(
        `SELECT r.id, r.status, r.amount_micro_usd::text, p.service_tier
           FROM reservations r JOIN prices p ON p.id = r.price_id WHERE r.task_id = $1 ORDER BY r.created_at`,
        [taskId],
      )
    ).rows;

  it('calls at flex a task whose budget reaches the rule, and books it at the flex price the provider billed', async () => {
    const taskId = await h.submit('patient', 'Plan the migration. [[sim:reasoning_tokens=400]]', {
      latencyBudgetMs: 900_000,
    });
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'reasoning_model', degraded: null });

    const [attempt] = await attemptsOf(h.db, taskId);
    expect(attempt).toMatchObject({
      tier: 'reasoning',
      status: 'finished',
      reason: null,
      service_tier: 'flex',
    });
    expect(attempt!['service_tier_reason']).toBe(
      "latency budget 900 s reaches the policy's 600 s rule: flex",
    );
    expect(attempt!['result']).toMatchObject({ servedTier: 'flex' });

    const [booking] = await bookingsOf(taskId, 1);
    const call = (await billed()).find((c) => c.clientRequestId === booking!.reservation_id)!;
    expect(call).toMatchObject({ model: 'sim-reasoner', serviceTier: 'flex' });
    expect(booking).toMatchObject({ model: 'sim-reasoner', service_tier: 'flex' });
    expect(Number(booking!.cost_micro_usd)).toBe(call.costMicroUsd);
    expect((await holdsOf(taskId)).map((r) => r.service_tier)).toEqual(['flex']);

    const started = h.recorder.of('tasks.task.reasoning-started.v1', taskId).map((e) => e.data);
    expect(started).toEqual([
      expect.objectContaining({ serviceTier: 'flex', serviceTierReason: attempt!['service_tier_reason'] }),
    ]);
    const usage = h.recorder.of('usage.model-call.recorded.v1', taskId).map((e) => e.data);
    expect(usage).toEqual([expect.objectContaining({ serviceTier: 'flex' })]);
  });

  it('falls back to the default tier at once when flex is refused, and books only the default call at its price', async () => {
    const taskId = await h.submit('patient', 'Plan the migration. [[sim:fault=flex_unavailable]]', {
      latencyBudgetMs: 900_000,
    });
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    // A refusal is not a failure of the reasoning step: answered by the reasoning model, not degraded.
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'reasoning_model', degraded: null });

    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a['tier'], a['reason'], a['service_tier']])).toEqual([
      ['reasoning', 'flex_unavailable', 'flex'],
      ['reasoning', null, 'default'],
    ]);
    expect(attempts[0]!['detail']).toMatch(/^the provider refused the flex service tier \(HTTP 429/);
    expect(attempts[1]!['service_tier_reason']).toBe(
      "latency budget 900 s reaches the policy's 600 s rule: flex; but attempt 1 was refused flex " +
        `(${String(attempts[0]!['detail'])}): default`,
    );

    // The refusal was not billed: booked at 0, its hold released. The default call is booked at what the provider
    // billed for it.
    const [refusal, booking] = await bookingsOf(taskId, 2);
    expect(refusal).toMatchObject({
      reservation_id: attempts[0]!['reservation_id'],
      service_tier: 'flex',
      cost_micro_usd: '0',
    });
    const calls = (await billed()).filter((c) =>
      attempts.some((a) => a['reservation_id'] === c.clientRequestId),
    );
    expect(calls).toEqual([expect.objectContaining({ serviceTier: 'default', model: 'sim-reasoner' })]);
    expect(booking).toMatchObject({
      reservation_id: attempts[1]!['reservation_id'],
      service_tier: 'default',
    });
    expect(Number(booking!.cost_micro_usd)).toBe(calls[0]!.costMicroUsd);
    const holds = await holdsOf(taskId);
    expect(holds.map((r) => [r.status, r.service_tier])).toEqual([
      ['released', 'flex'],
      ['settled', 'default'],
    ]);
    // The flex hold was priced at half the default one (the same worst case at the flex price).
    expect(Number(holds[0]!.amount_micro_usd)).toBeLessThan(Number(holds[1]!.amount_micro_usd));
  });

  it('calls at the default tier a task whose budget is below the rule, or a tenant with no rule', async () => {
    const short = await h.submit('patient', 'Quick one.', { latencyBudgetMs: 120_000 });
    const plain = await h.submit('no-policy', 'Quick one.', { latencyBudgetMs: 900_000 });
    const outcomes = await h.recorder.outcomes([short, plain]);
    expect([...outcomes.values()].map((o) => o.topic)).toEqual([
      'tasks.task.completed.v1',
      'tasks.task.completed.v1',
    ]);
    const [shortAttempt] = await attemptsOf(h.db, short);
    expect(shortAttempt).toMatchObject({
      service_tier: 'default',
      service_tier_reason: "latency budget 120 s is below the policy's lowest service-tier rule (600 s)",
    });
    const [plainAttempt] = await attemptsOf(h.db, plain);
    expect(plainAttempt).toMatchObject({
      service_tier: 'default',
      service_tier_reason: 'the policy maps no latency budget to a service tier',
    });
    const [booking] = await bookingsOf(short, 1);
    expect(booking!.service_tier).toBe('default');
  });

  it('keeps a chat-completions fallback at the default tier, saying why, for a flex task', async () => {
    // The reasoning model stops at its token limit; the standard model (chat completions) answers.
    const taskId = await h.submit('chat-only', 'Think forever. [[sim:fault=runaway]]', {
      latencyBudgetMs: 900_000,
      maxThinkingTokens: 500,
    });
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'standard_model' });
    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a['tier'], a['reason'], a['service_tier']])).toEqual([
      ['reasoning', 'limit_hit', 'flex'],
      ['standard', null, 'default'],
    ]);
    expect(attempts[1]!['service_tier_reason']).toMatch(
      /but the standard model is called through chat completions, which has no flex: default$/,
    );
    const bookings = await bookingsOf(taskId, 2);
    expect(bookings.map((b) => [b.model, b.service_tier])).toEqual([
      ['sim-reasoner', 'flex'],
      ['sim-standard', 'default'],
    ]);
    const calls = await billed();
    for (const b of bookings)
      expect(Number(b.cost_micro_usd)).toBe(
        calls.find((c) => c.clientRequestId === b.reservation_id)!.costMicroUsd,
      );
  });
});
