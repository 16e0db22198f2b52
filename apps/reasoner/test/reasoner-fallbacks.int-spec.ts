import { budgetBreakerOpenedEvent, reasoningRequestedEvent } from '@deliberate/contracts';
import { listenOnFreePort, openedBreaker, pollUntil, scrapeMetrics, testKafka } from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// One reasoner against the real broker, Postgres and ledger, the simulator as the model provider (time scale 0.01:
// 30 s of simulated thinking take 0.3 s). Each test steers the simulator through directives in the prompt.
describe('reasoner: limits, fallbacks, cancellation', () => {
  let h: ReasonerHarness;
  let reasoner: INestApplication;

  beforeAll(async () => {
    h = await startHarness('reasoner-fallbacks');
    // Budgets and breaker states the tests below rely on, in place before the reasoner reads them.
    await h.putBudget('tight', { dailyLimitUsd: 0.1 });
    await h.putBudget('strict', { dailyLimitUsd: 0.1 });
    await h.putBudget('humane', { dailyLimitUsd: 0.1 });
    await h.putBudget('broke', { dailyLimitUsd: 0.01 });
    // No tenant budget: only the project's and the API key's limit these tenants' reasoning calls.
    await h.putBudget('projected', { scope: 'project', scopeId: 'apollo', dailyLimitUsd: 0.01 });
    await h.putBudget('keyed', { scope: 'api_key', scopeId: 'key-small', dailyLimitUsd: 0.01 });
    // The tenants' policies, as the gateway publishes them; the reasoner has read them all before it works.
    await h.putPolicy('tight', { onBudgetDenied: 'route_cheap' });
    await h.putPolicy('broke', { onBudgetDenied: 'route_cheap' });
    await h.putPolicy('strict', { onBudgetDenied: 'fail' });
    await h.putPolicy('humane', { onBudgetDenied: 'human' });
    await h.putPolicy('projected', { onBudgetDenied: 'fail' });
    await h.putPolicy('keyed', { onBudgetDenied: 'fail' });
    await h.putPolicy('capped', { maxThinkingTokensCeiling: 8_000 });
    await h.putPolicy('capped', { maxThinkingTokensCeiling: 1_000, defaultReasoningEffort: 'low' });
    await h.putPolicy('breaker-cheap', { onBudgetDenied: 'route_cheap' });
    await h.putPolicy('solo', { fallback: ['human'] });
    await h.putPolicy('solo', { fallback: ['human'] });
    await h.publisher.publish(budgetBreakerOpenedEvent, {
      tenantId: 'breaker-fail',
      data: openedBreaker('fail'),
    });
    await h.publisher.publish(budgetBreakerOpenedEvent, {
      tenantId: 'breaker-cheap',
      data: openedBreaker('route_cheap'),
    });
    reasoner = await h.startReasoner({
      REASONER_MODEL_MAX_RETRIES: '2',
      REASONER_BREAKER_FAILURES: '1000',
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  const reservationsOf = async (taskId: string) =>
    (
      await h.ledgerDb.query<{ status: string; model: string; cost_micro_usd: string | null }>(
        `SELECT status, model, cost_micro_usd FROM reservations WHERE task_id = $1 ORDER BY created_at`,
        [taskId],
      )
    ).rows;

  const abortedBookingsOf = async (taskId: string) =>
    (
      await h.ledgerDb.query<{ aborted: boolean }>(
        `SELECT aborted FROM bookings WHERE task_id = $1 ORDER BY event_time`,
        [taskId],
      )
    ).rows.map((r) => r.aborted);

  it('answers with the reasoning model, records the trace, and settles the reservation with the usage', async () => {
    const contextSelection = [
      { index: 0, id: 'kept', title: 'Kept', score: 0.9, reason: 'shares words', kept: true },
      { index: 1, id: 'dropped', title: 'Dropped', score: 0.1, reason: 'no overlap', kept: false },
    ];
    const taskId = await h.submit(
      'acme',
      'Compare the two plans step by step. [[sim:think_ms=30000]]',
      { context: [{ id: 'kept', title: 'Kept', content: 'Plan A costs less.' }], reasoningEffort: 'high' },
      { contextSelection },
    );
    const [outcome] = (await h.recorder.outcomes([taskId])).values();
    expect(outcome!.topic).toBe('tasks.task.completed.v1');
    const result = outcome!.data['result'];
    expect(result).toMatchObject({ answeredBy: 'reasoning_model', model: 'sim-reasoner', degraded: null });
    expect(result.answer).toMatch(/^Simulated answer from sim-reasoner/);
    expect(result.usage.reasoningTokens).toBeGreaterThan(0);

    const [started] = h.recorder.of('tasks.task.reasoning-started.v1', taskId);
    expect(started!.data).toMatchObject({
      attempt: 1,
      tier: 'reasoning',
      model: 'sim-reasoner',
      maxCompletionTokens: 32_000,
      reasoningEffort: 'high',
    });
    const trace = await h.recorder.waitFor(
      () => h.recorder.of('reasoning.trace.recorded.v1', taskId)[0],
      'trace',
    );
    expect(trace.data).toMatchObject({
      attempt: 1,
      parse: 'tagged',
      outcome: 'answered',
      finishReason: 'stop',
      contextSelection,
    });
    expect(trace.data['trace']).toMatch(/\S/);
    expect(trace.data['answer']).toBe(result.answer);
    expect(trace.data['prompt'][0].content).toContain('<reasoning>');
    expect(trace.data['prompt'][1].content).toContain('Plan A costs less.');

    const usage = await h.recorder.waitFor(
      () => h.recorder.of('usage.model-call.recorded.v1', taskId)[0],
      'usage',
    );
    expect(usage.data).toMatchObject({ outcome: 'ok', purpose: 'reason', model: 'sim-reasoner' });
    expect(usage.data['reservationId']).toMatch(/^[0-9a-f-]{36}$/);
    const reservations = await reservationsOf(taskId);
    expect(reservations).toHaveLength(1);
    expect(reservations[0]).toMatchObject({ status: 'settled', model: 'sim-reasoner' });
    expect(Number(reservations[0]!.cost_micro_usd)).toBeGreaterThan(0);
  });

  it("caps the thinking tokens at the tenant's latest ceiling and applies its default effort", async () => {
    const taskId = await h.submit('capped', 'Plan it. [[sim:reasoning_tokens=100]]', {
      maxThinkingTokens: 50_000,
    });
    await h.recorder.outcomes([taskId]);
    expect(h.recorder.of('tasks.task.reasoning-started.v1', taskId)[0]!.data).toMatchObject({
      maxCompletionTokens: 1_000,
      reasoningEffort: 'low',
    });
  });

  it("escalates to a person when no model of the tenant's chain gives a usable answer, the reason naming it", async () => {
    const taskId = await h.submit('solo', 'Think forever. [[sim:fault=runaway]]', {
      maxThinkingTokens: 2_000,
    });
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.escalated.v1');
    expect(outcome.data['reason']).toMatch(/^limit_hit: /);
    expect(outcome.data['attempts']).toEqual(['reasoning:limit_hit']);
  });

  it('stops runaway thinking at the token limit and falls back to the standard model, degraded', async () => {
    const taskId = await h.submit('acme', 'Think forever. [[sim:fault=runaway]]', {
      maxThinkingTokens: 2_000,
    });
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'standard_model', model: 'sim-standard' });
    expect(outcome.data['result'].degraded.reason).toMatch(
      /^limit_hit: .*2000-token limit.*finish_reason length/,
    );

    const started = h.recorder.of('tasks.task.reasoning-started.v1', taskId).map((e) => e.data);
    expect(started.map((s) => [s['attempt'], s['tier'], s['maxCompletionTokens']])).toEqual([
      [1, 'reasoning', 2_000],
      [2, 'standard', 4_096],
    ]);
    const traces = await h.recorder.waitFor(() => {
      const t = h.recorder.of('reasoning.trace.recorded.v1', taskId);
      return t.length === 2 && t;
    }, 'two traces');
    const first = traces.find((t) => t.data['attempt'] === 1)!.data;
    expect(first).toMatchObject({
      outcome: 'limit_hit',
      finishReason: 'length',
      parse: 'empty',
      answer: null,
    });
    expect(first['usage'].reasoningTokens).toBe(2_000);
    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a.tier, a.status, a.reason])).toEqual([
      ['reasoning', 'finished', 'limit_hit'],
      ['standard', 'finished', null],
    ]);
    // The runaway call consumed its whole budget: it is booked, not released.
    await h.recorder.waitFor(
      () => h.recorder.of('usage.model-call.recorded.v1', taskId).length === 2,
      'usage events',
    );
    expect((await reservationsOf(taskId)).map((r) => r.status)).toEqual(['settled', 'settled']);
  });

  it('aborts calls at the deadline and fails with code deadline when no model beats it, never a person', async () => {
    // 600 s of thinking at time scale 0.01 is 6 s; the budget is 3 s, of which the reasoning model gets 2.25 s.
    const taskId = await h.submit('acme', 'Take your time. [[sim:think_ms=600000]]', {
      latencyBudgetMs: 3_000,
    });
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.failed.v1');
    expect(outcome.data['error'].code).toBe('deadline_exceeded');
    expect(outcome.data['error'].message).toMatch(/reasoning: deadline: .*standard: deadline: /);
    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a.tier, a.reason])).toEqual([
      ['reasoning', 'deadline'],
      ['standard', 'deadline'],
    ]);
    // Aborted calls reported no usage, but the provider may bill them: booked at their holds, flagged aborted. (The
    // standard model is skipped without a call if the reasoning call's abort left it no time.)
    const calls = attempts.filter((a) => a.reservation_id !== null).length;
    expect(calls).toBeGreaterThanOrEqual(1);
    await h.recorder.waitFor(
      () => h.recorder.of('usage.model-call.recorded.v1', taskId).length === calls,
      'usage events',
    );
    expect((await reservationsOf(taskId)).map((r) => r.status)).toEqual(Array(calls).fill('settled'));
    expect(await abortedBookingsOf(taskId)).toEqual(Array(calls).fill(true));
  });

  it('rides out a 429 storm through the SDK retries, honouring retry-after', async () => {
    const started = Date.now();
    const taskId = await h.submit('acme', 'Busy provider. [[sim:fault=429x2:retry_after_ms=200]]');
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'reasoning_model', degraded: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    // The SDK's retries are inside one attempt.
    expect(h.recorder.of('tasks.task.reasoning-started.v1', taskId)).toHaveLength(1);
  });

  it('tries the standard model again while both models fail, and fails at the deadline, never a person', async () => {
    const taskId = await h.submit('acme', 'Broken provider. [[sim:fault=500]]', { latencyBudgetMs: 10_000 });
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.failed.v1');
    expect(outcome.data['error'].code).toBe('deadline_exceeded');
    expect(outcome.data['error'].message).toMatch(
      /reasoning: server_error: .*HTTP 500.*standard: server_error/,
    );
    expect(h.recorder.of('tasks.task.escalated.v1', taskId)).toHaveLength(0);
    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts[0]).toMatchObject({ tier: 'reasoning', reason: 'server_error' });
    expect(attempts.slice(1).filter((a) => a.reason === 'server_error').length).toBeGreaterThanOrEqual(2);
    expect(attempts.slice(1).every((a) => a.tier === 'standard')).toBe(true);
    expect(attempts.at(-1)).toMatchObject({ tier: 'standard', reason: 'deadline' });
  });

  it("uses the standard model when the ledger denies the reasoning worst case and the tenant's policy says route_cheap", async () => {
    // 0.10 USD a day: the reasoning worst case (32,000 tokens) is 0.256 USD, the standard one about 0.04 USD.
    const taskId = await h.submit('tight', 'Within budget please. [[sim:reasoning_tokens=100]]');
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    expect(outcome.data['result'].answeredBy).toBe('standard_model');
    expect(outcome.data['result'].degraded.reason).toMatch(/^budget_denied: .*budget_exceeded/);
    const trace = await h.recorder.waitFor(
      () => h.recorder.of('reasoning.trace.recorded.v1', taskId).find((t) => t.data['attempt'] === 1),
      'denial trace',
    );
    expect(trace.data).toMatchObject({ outcome: 'budget_denied', tier: 'reasoning' });
    expect(h.recorder.of('tasks.task.reasoning-started.v1', taskId).map((e) => e.data['tier'])).toEqual([
      'standard',
    ]);
  });

  it("fails with budget_exceeded on a denial when the tenant's policy says fail, never the review queue", async () => {
    const tasks = await Promise.all(
      Array.from({ length: 5 }, () => h.submit('strict', 'Within budget please.')),
    );
    const outcomes = await h.recorder.outcomes(tasks);
    for (const id of tasks) {
      expect(outcomes.get(id)!.topic).toBe('tasks.task.failed.v1');
      expect(outcomes.get(id)!.data['error'].code).toBe('budget_exceeded');
      expect(h.recorder.of('tasks.task.reasoning-started.v1', id)).toHaveLength(0);
    }
  });

  it("holds reasoning calls against the task's project and API key budgets: a denial fails the task under fail", async () => {
    const [inProject, inKey, elsewhere] = await Promise.all([
      h.submit('projected', 'Within budget please.', { project: 'apollo', apiKeyId: 'key-big' }),
      h.submit('keyed', 'Within budget please.', { project: null, apiKeyId: 'key-small' }),
      // The same tenant's task in another project is not limited by apollo's budget.
      h.submit('projected', 'Within budget please. [[sim:reasoning_tokens=100]]', {
        project: 'zeus',
        apiKeyId: 'key-big',
      }),
    ]);
    const outcomes = await h.recorder.outcomes([inProject, inKey, elsewhere]);
    for (const [id, scope] of [
      [inProject, "project 'apollo'"],
      [inKey, "API key 'key-small'"],
    ] as const) {
      expect(outcomes.get(id)!.topic).toBe('tasks.task.failed.v1');
      expect(outcomes.get(id)!.data['error'].code).toBe('budget_exceeded');
      expect(h.recorder.of('tasks.task.reasoning-started.v1', id)).toHaveLength(0);
      const [denied] = await attemptsOf(h.db, id);
      expect(String(denied!['detail'])).toContain(scope);
    }
    expect(outcomes.get(elsewhere)!.topic).toBe('tasks.task.completed.v1');
    const { rows } = await h.ledgerDb.query<{ project: string | null; api_key_id: string | null }>(
      `SELECT project, api_key_id FROM reservations WHERE task_id = $1`,
      [elsewhere],
    );
    expect(rows).toEqual([{ project: 'zeus', api_key_id: 'key-big' }]);
  });

  it('fails with budget_exceeded under route_cheap when the standard model is denied too', async () => {
    const taskId = await h.submit('broke', 'Within budget please.');
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.failed.v1');
    expect(outcome.data['error'].code).toBe('budget_exceeded');
    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a.tier, a.reason])).toEqual([
      ['reasoning', 'budget_denied'],
      ['standard', 'budget_denied'],
    ]);
  });

  it("escalates a denied task to a person with the reason budget_denied when the tenant's policy says human", async () => {
    const taskId = await h.submit('humane', 'Within budget please.');
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.escalated.v1');
    expect(outcome.data['reason']).toMatch(/^budget_denied: .*budget_exceeded/);
    expect(h.recorder.of('tasks.task.reasoning-started.v1', taskId)).toHaveLength(0);
  });

  it("follows an open tenant cost breaker: 'fail' refuses without a call, 'route_cheap' uses the standard model", async () => {
    const refused = await h.submit('breaker-fail', 'Anything.');
    const cheap = await h.submit('breaker-cheap', 'Anything.');
    const outcomes = await h.recorder.outcomes([refused, cheap]);
    expect(outcomes.get(refused)!.topic).toBe('tasks.task.failed.v1');
    expect(outcomes.get(refused)!.data['error'].code).toBe('budget_exceeded');
    expect(await attemptsOf(h.db, refused)).toHaveLength(0);
    expect(outcomes.get(cheap)!.data['result']).toMatchObject({ answeredBy: 'standard_model' });
    expect(outcomes.get(cheap)!.data['result'].degraded.reason).toMatch(/^cost_breaker_open: /);
  });

  it('cancels a call in flight at once and books its hold as aborted', async () => {
    const taskId = await h.submit('acme', 'Never answers. [[sim:fault=hang]]');
    await h.recorder.waitFor(
      () => h.recorder.of('tasks.task.reasoning-started.v1', taskId)[0],
      'the call to start',
    );
    // The call hangs for ever: a cancelled event at all means it was aborted.
    await h.cancel('acme', taskId, 'no longer needed');
    const outcome = (await h.recorder.outcomes([taskId], 10_000)).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.cancelled.v1');
    expect(outcome.data).toMatchObject({ reason: 'no longer needed', usage: null });
    const [attempt] = await attemptsOf(h.db, taskId);
    expect(attempt).toMatchObject({ status: 'finished', outcome: 'cancelled', reason: 'cancelled' });
    const usage = await h.recorder.waitFor(
      () => h.recorder.of('usage.model-call.recorded.v1', taskId)[0],
      'usage event',
    );
    // Its usage event says it was cut off: reaching the ledger before the settle, it books the same worst case.
    expect(usage.data).toMatchObject({ outcome: 'aborted', usage: { inputTokens: 0, outputTokens: 0 } });
    // The provider may bill a call it was generating: the aborted call is booked at its hold.
    expect((await reservationsOf(taskId)).map((r) => r.status)).toEqual(['settled']);
    expect(await abortedBookingsOf(taskId)).toEqual([true]);
  });

  it('remembers a cancel that arrives before the request, and ignores one for a finished task', async () => {
    const early = randomUUID();
    await h.cancel('acme', early, 'cancelled early');
    // The cancel must be stored before the request arrives for this to test the remembered path.
    await waitForRow(h, `SELECT 1 FROM cancel_requests WHERE task_id = $1`, [early]);
    await h.submit('acme', 'Too late. [[sim:think_ms=30000]]', {}, { taskId: early });
    const outcome = (await h.recorder.outcomes([early])).get(early)!;
    expect(outcome.topic).toBe('tasks.task.cancelled.v1');
    expect(outcome.data['reason']).toBe('cancelled early');
    expect(h.recorder.of('tasks.task.reasoning-started.v1', early)).toHaveLength(0);

    const done = await h.submit('acme', 'Quick one. [[sim:reasoning_tokens=100]]');
    expect((await h.recorder.outcomes([done])).get(done)!.topic).toBe('tasks.task.completed.v1');
    await h.cancel('acme', done);
    await waitForRow(h, `SELECT 1 FROM cancel_requests WHERE task_id = $1`, [done]);
    expect(h.recorder.of('tasks.task.cancelled.v1', done)).toHaveLength(0);
    const { rows } = await h.db.query(
      `SELECT status, cancel_requested_at FROM executions WHERE task_id = $1`,
      [done],
    );
    expect(rows[0]).toEqual({ status: 'completed', cancel_requested_at: null });
  });

  // The reasoner's HTTP port, opened by the first test that calls it.
  let url: string | undefined;
  const reasonerUrl = async () => (url ??= await listenOnFreePort(reasoner));

  it('reports its pool and consumers on /health', async () => {
    const health = (await (await fetch(`${await reasonerUrl()}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      status: 'ok',
      inFlight: 0,
      queued: 0,
      intakePaused: false,
    });
    // Reported, not judged here: staying at one join under load is what reasoner-load.int-spec.ts asserts.
    const joins = health['groupJoins'] as { intake: number; cancels: number };
    expect(joins.intake).toBeGreaterThanOrEqual(1);
    expect(joins.cancels).toBeGreaterThanOrEqual(1);
  });

  it('counts each ended execution once on /metrics, by outcome, a redelivered request not again', async () => {
    const executions = 'deliberate_reasoner_executions_total';
    const before = await scrapeMetrics(await reasonerUrl());
    const cancelled = randomUUID();
    await h.cancel('acme', cancelled, 'cancelled early');
    await waitForRow(h, `SELECT 1 FROM cancel_requests WHERE task_id = $1`, [cancelled]);
    const ids = {
      completed: await h.submit('acme', 'Quick one. [[sim:reasoning_tokens=100]]'),
      fallback: await h.submit('acme', 'Think forever. [[sim:fault=runaway]]', { maxThinkingTokens: 2_000 }),
      escalated: await h.submit('solo', 'Think forever. [[sim:fault=runaway]]', { maxThinkingTokens: 2_000 }),
      failed: await h.submit('strict', 'Within budget please.'),
      cancelled: await h.submit('acme', 'Too late. [[sim:think_ms=30000]]', {}, { taskId: cancelled }),
    };
    const outcomes = await h.recorder.outcomes(Object.values(ids));
    expect(Object.values(ids).map((id) => outcomes.get(id)!.topic.split('.')[2])).toEqual([
      'completed',
      'completed',
      'escalated',
      'failed',
      'cancelled',
    ]);
    // The hostile part: a finished task's request delivered again runs nothing and ends nothing again.
    await h.submit('acme', 'Quick one. [[sim:reasoning_tokens=100]]', {}, { taskId: ids.completed });
    await intakeDrained(h);

    const after = await scrapeMetrics(await reasonerUrl());
    const moved = (outcome: string) =>
      after.value(executions, { outcome }) - before.value(executions, { outcome });
    expect(['completed', 'fallback', 'escalated', 'failed', 'cancelled'].map(moved)).toEqual([1, 1, 1, 1, 1]);
    expect(after.value(executions) - before.value(executions)).toBe(5);
    for (const sample of after.find(executions)) expect(Object.keys(sample.labels)).toEqual(['outcome']);
  });
});

async function waitForRow(h: ReasonerHarness, sql: string, params: unknown[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await h.db.query(sql, params)).rowCount === 0) {
    if (Date.now() > deadline) throw new Error(`no row for ${sql}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the intake group has committed past every reasoning request published so far. */
async function intakeDrained(h: ReasonerHarness): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const topic = `${h.prefix}${reasoningRequestedEvent.topic}`;
    const ends = await admin.fetchTopicOffsets(topic);
    await pollUntil(
      async () =>
        (await admin.fetchOffsets({ groupId: `${h.prefix}deliberate.reasoner.intake`, topics: [topic] }))[0]!,
      (committed) =>
        ends.every(
          (end) =>
            Number(end.high) === Number(end.low) ||
            Number(committed.partitions.find((p) => p.partition === end.partition)?.offset ?? -1) >=
              Number(end.high),
        ),
      { what: 'the intake group past every reasoning request' },
    );
  } finally {
    await admin.disconnect();
  }
}
