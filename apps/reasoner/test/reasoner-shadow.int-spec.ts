import type { ShadowComparisonRecorded, ShadowReportResponse } from '@deliberate/contracts';
import { answersAgree } from '@deliberate/reasoner/shadow/answer-agreement';
import { isShadowSampled } from '@deliberate/reasoner/shadow/shadow-sample';
import { pollUntil } from '@deliberate/testing';
import { type ReasonerHarness, startHarness } from './reasoner-harness';

// Shadow evaluation on the simulator: a tenant's policy sends a share of its completed tasks to a candidate model
// off the critical path. What the simulator billed and answered is compared with what the ledger booked and what the
// shadow report says; the live tasks are never touched by it, even when the shadow budget runs out.

interface BilledCall {
  clientRequestId: string | null;
  model: string;
  costMicroUsd: number;
}

const TASKS = 200;
const SHADOW = {
  model: 'sim-standard',
  serviceTier: 'default' as const,
  sampleRate: 0.5,
  dailyBudgetUsd: 50,
};

describe('reasoner: shadow evaluation', () => {
  let h: ReasonerHarness;

  beforeAll(async () => {
    h = await startHarness('reasoner-shadow');
    await h.putPolicy('acme', { shadow: SHADOW });
    // The candidate is the live model itself here; a worst case of about 0.017 USD a call against 0.05 a day.
    await h.putPolicy('thrifty', {
      shadow: { model: 'sim-reasoner', serviceTier: 'default', sampleRate: 1, dailyBudgetUsd: 0.05 },
    });
    await h.putPolicy('plain', {});
    await h.putPolicy('judged', {
      shadow: { model: 'sim-standard', sampleRate: 1, dailyBudgetUsd: 10, judgeModel: 'sim-fast' },
    });
    await h.startReasoner({ REASONER_SHADOW_POLL_MS: '100', REASONER_SHADOW_CONCURRENCY: '8' });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  const billed = async (): Promise<BilledCall[]> =>
    ((await (await fetch(`${h.simulator.url}/v1/bill`)).json()) as { calls: BilledCall[] }).calls;
  const comparisonsOf = (ids: readonly string[]) =>
    ids.flatMap((id) => h.recorder.of('shadow.comparison.recorded.v1', id)) as unknown as {
      id: string;
      taskId: string;
      data: ShadowComparisonRecorded;
    }[];
  const reservationsOf = async (taskIds: readonly string[], shadow: boolean) =>
    (
      await h.ledgerDb.query<{ id: string; task_id: string }>(
        `SELECT id, task_id FROM reservations WHERE task_id = ANY($1::uuid[]) AND shadow = $2`,
        [taskIds, shadow],
      )
    ).rows;

  it('compares the sampled half of 200 tasks; the report matches what the simulator billed and answered', async () => {
    // Every other task names its answer, which both models then give: those agree, the others cannot (an answer
    // without the directive names the model that gave it).
    const ids = await Promise.all(
      Array.from({ length: TASKS }, (_, i) =>
        h.submit('acme', i % 2 === 0 ? `Question ${i}? [[sim:answer=Yes, ${i}.]]` : `Question ${i}?`, {
          // Low effort: at most 1,000 reasoning tokens, so no live call hits its limit and falls back.
          reasoningEffort: 'low',
          maxThinkingTokens: 4_000,
        }),
      ),
    );
    const outcomes = await h.recorder.outcomes(ids, 120_000);
    const sampled = ids.filter((id) => isShadowSampled(id, SHADOW.sampleRate));
    expect(sampled.length).toBeGreaterThan(60);
    expect(sampled.length).toBeLessThan(140);

    await h.recorder.waitFor(
      () => sampled.every((id) => h.recorder.of('shadow.comparison.recorded.v1', id).length > 0),
      'a comparison of every sampled task',
      120_000,
    );
    // The live side is untouched: every task completed once, by the live model, whatever its shadow did.
    for (const id of ids) {
      const outcome = outcomes.get(id)!;
      expect([outcome.topic, outcome.data['result'].answeredBy]).toEqual([
        'tasks.task.completed.v1',
        'reasoning_model',
      ]);
      expect(h.recorder.of('tasks.task.completed.v1', id)).toHaveLength(1);
    }
    // One comparison per sampled task, none for the others.
    const comparisons = comparisonsOf(ids);
    expect(new Set(comparisons.map((c) => c.taskId))).toEqual(new Set(sampled));
    expect(new Set(comparisons.map((c) => c.data.shadowRunId)).size).toBe(sampled.length);
    expect(comparisons.every((c) => c.data.shadow.outcome === 'ok')).toBe(true);
    // Agreement as the answers say: the live answer published to the client against the shadow's.
    for (const c of comparisons) {
      const live = outcomes.get(c.taskId)!.data['result'].answer as string;
      expect(c.data.agreement.agreed).toBe(answersAgree(live, c.data.shadow.answer!));
    }
    const agreed = comparisons.filter((c) => c.data.agreement.agreed).length;
    const directed = sampled.filter((id) => ids.indexOf(id) % 2 === 0).length;
    expect(agreed).toBe(directed);

    // Each shadow call made once and billed by the simulator under its shadow hold; the ledger booked exactly that.
    const shadowHolds = await reservationsOf(sampled, true);
    expect(shadowHolds).toHaveLength(sampled.length);
    const bill = await billed();
    const holdIds = new Set(shadowHolds.map((r) => r.id));
    const shadowCalls = bill.filter((c) => c.clientRequestId !== null && holdIds.has(c.clientRequestId));
    expect(shadowCalls).toHaveLength(sampled.length);
    expect(shadowCalls.every((c) => c.model === 'sim-standard')).toBe(true);
    const shadowBilled = shadowCalls.reduce((s, c) => s + c.costMicroUsd, 0);
    const liveHoldIds = new Set((await reservationsOf(sampled, false)).map((r) => r.id));
    const liveBilled = bill
      .filter((c) => c.clientRequestId !== null && liveHoldIds.has(c.clientRequestId))
      .reduce((s, c) => s + c.costMicroUsd, 0);

    const report = await pollUntil(
      () => h.ledgerGet<ShadowReportResponse>('acme', '/v1/shadow/report?route=reasoning'),
      (r) =>
        r.status === 200 &&
        r.body.tasksCompared === sampled.length &&
        r.body.shadow.costMicroUsd === shadowBilled &&
        r.body.live.costMicroUsd === liveBilled,
      { what: 'the shadow report of every comparison, both sides booked', timeoutMs: 30_000 },
    );
    expect(report.body).toMatchObject({
      tenantId: 'acme',
      route: 'reasoning',
      tasksCompared: sampled.length,
      shadowOutcomes: { ok: sampled.length },
      agreement: {
        method: 'normalised_exact_then_judge',
        answeredBoth: sampled.length,
        agreed,
        judged: 0,
        rate: agreed / sampled.length,
      },
      judge: { models: [], calls: 0, costMicroUsd: 0 },
      live: { models: ['sim-reasoner'], costMicroUsd: liveBilled },
      shadow: { models: ['sim-standard'], costMicroUsd: shadowBilled },
    });
    const ci = report.body.agreement.confidence95!;
    expect(ci.low).toBeLessThan(agreed / sampled.length);
    expect(ci.high).toBeGreaterThan(agreed / sampled.length);
    // The simulator's cheaper standard model: switching would save, and the projection says so.
    expect(report.body.projectedMonthly!.differenceMicroUsd).toBeLessThan(0);

    // The shadow spend sits on the shadow counter, never on the tenant's budgets or the tasks' counters.
    const { rows: counters } = await h.ledgerDb.query<{ scope: string; spent: string }>(
      `SELECT scope, sum(spent_micro_usd)::text AS spent FROM spend_counters
        WHERE tenant_id = 'acme' AND period = 'day' GROUP BY scope ORDER BY scope`,
    );
    const { rows: live } = await h.ledgerDb.query<{ spent: string }>(
      `SELECT coalesce(sum(cost_micro_usd), 0)::text AS spent FROM bookings WHERE tenant_id = 'acme' AND NOT shadow`,
    );
    expect(counters).toEqual([
      { scope: 'shadow', spent: String(shadowBilled) },
      { scope: 'tenant', spent: live[0]!.spent },
    ]);
    const { rows: tasks } = await h.ledgerDb.query<{ spent: string }>(
      `SELECT coalesce(sum(spent_micro_usd), 0)::text AS spent FROM task_counters WHERE tenant_id = 'acme'`,
    );
    expect(tasks[0]!.spent).toBe(live[0]!.spent);
  }, 300_000);

  it('stops shadow calls at the shadow budget while every live task completes', async () => {
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.submit('thrifty', `Estimate ${i}. [[sim:reasoning_tokens=1500]]`, { maxThinkingTokens: 2_000 }),
      ),
    );
    const outcomes = await h.recorder.outcomes(ids, 60_000);
    for (const id of ids) expect(outcomes.get(id)!.topic).toBe('tasks.task.completed.v1');
    await h.recorder.waitFor(
      () => ids.every((id) => h.recorder.of('shadow.comparison.recorded.v1', id).length > 0),
      'a comparison of every task',
      60_000,
    );
    const comparisons = comparisonsOf(ids);
    const denied = comparisons.filter((c) => c.data.shadow.outcome === 'budget_denied');
    const made = comparisons.filter((c) => c.data.shadow.outcome === 'ok');
    expect(denied.length + made.length).toBe(ids.length);
    expect(made.length).toBeGreaterThan(0);
    expect(denied.length).toBeGreaterThan(0);
    for (const c of denied) {
      expect(c.data.shadow).toMatchObject({ reservationId: null, answer: null, usage: { inputTokens: 0 } });
      expect(c.data.shadow.errorMessage).toMatch(/daily shadow budget of tenant 'thrifty' exceeded/);
      expect(c.data.agreement.agreed).toBeNull();
    }
    // Only the approved shadow calls reached the provider, and the day's shadow spend stays within its budget.
    const holds = await reservationsOf(ids, true);
    expect(holds).toHaveLength(made.length);
    const holdIds = new Set(holds.map((r) => r.id));
    expect((await billed()).filter((c) => c.clientRequestId && holdIds.has(c.clientRequestId))).toHaveLength(
      made.length,
    );
    const counter = await pollUntil(
      async () =>
        (
          await h.ledgerDb.query<{ spent: string; reserved: string }>(
            `SELECT spent_micro_usd::text AS spent, reserved_micro_usd::text AS reserved FROM spend_counters
              WHERE tenant_id = 'thrifty' AND scope = 'shadow'`,
          )
        ).rows[0],
      (row) => row !== undefined && row.reserved === '0',
      { what: "the thrifty tenant's shadow holds settled" },
    );
    expect(Number(counter!.spent)).toBeGreaterThan(0);
    expect(Number(counter!.spent)).toBeLessThanOrEqual(50_000);
  }, 120_000);

  it('asks the judge model when the answers differ in form, books it as shadow, and reports it apart', async () => {
    // A: the two simulated answers differ only by the model named (the simulator's judge finds them the same); B: the
    // judge is told they differ; C: equal answers need no judge.
    const [a, b, c] = await Promise.all(
      ['Judged A?', 'Judged B? [[sim:judge=different]]', 'Judged C? [[sim:answer=Same]]'].map((input) =>
        h.submit('judged', input, { reasoningEffort: 'low' }),
      ),
    );
    const ids = [a!, b!, c!];
    await h.recorder.outcomes(ids, 60_000);
    await h.recorder.waitFor(
      () => ids.every((id) => h.recorder.of('shadow.comparison.recorded.v1', id).length > 0),
      'a comparison of every task',
      60_000,
    );
    const agreement = (id: string) => comparisonsOf([id])[0]!.data.agreement;
    expect(agreement(a!)).toMatchObject({
      method: 'judge',
      agreed: true,
      judge: { model: 'sim-fast', verdict: 'same', reason: 'both answers say the same' },
    });
    expect(agreement(b!)).toMatchObject({
      method: 'judge',
      agreed: false,
      judge: { model: 'sim-fast', verdict: 'different' },
    });
    expect(agreement(c!)).toEqual({ method: 'normalised_exact', agreed: true, judge: null });

    // Each judge call held under the shadow budget, billed once by the simulator under its hold, booked as shadow.
    const judgeHolds = [agreement(a!).judge!.reservationId!, agreement(b!).judge!.reservationId!];
    const bill = await billed();
    const judgeCalls = bill.filter((x) => x.clientRequestId && judgeHolds.includes(x.clientRequestId));
    expect(judgeCalls.map((x) => x.model)).toEqual(['sim-fast', 'sim-fast']);
    const judgeBilled = judgeCalls.reduce((sum, x) => sum + x.costMicroUsd, 0);
    const shadowHolds = new Set(comparisonsOf(ids).map((x) => x.data.shadow.reservationId));
    const shadowBilled = bill
      .filter((x) => x.clientRequestId && shadowHolds.has(x.clientRequestId))
      .reduce((sum, x) => sum + x.costMicroUsd, 0);
    const { rows } = await h.ledgerDb.query<{ shadow: boolean }>(
      `SELECT DISTINCT shadow FROM reservations WHERE id = ANY($1::uuid[])`,
      [judgeHolds],
    );
    expect(rows).toEqual([{ shadow: true }]);

    const report = await pollUntil(
      () => h.ledgerGet<ShadowReportResponse>('judged', '/v1/shadow/report'),
      (r) => r.status === 200 && r.body.tasksCompared === 3 && r.body.judge.costMicroUsd === judgeBilled,
      { what: "the judged tenant's report with the judge's calls booked", timeoutMs: 30_000 },
    );
    expect(report.body).toMatchObject({
      agreement: { answeredBoth: 3, agreed: 2, judged: 2 },
      judge: { models: ['sim-fast'], calls: 2, costMicroUsd: judgeBilled },
      // The judge's cost is in neither side's.
      shadow: { costMicroUsd: shadowBilled },
    });
  }, 120_000);

  it('runs no shadow for a tenant whose policy names none', async () => {
    const ids = await Promise.all(Array.from({ length: 4 }, (_, i) => h.submit('plain', `Plain ${i}?`)));
    await h.recorder.outcomes(ids, 60_000);
    // The comparisons of the other tenants arrive meanwhile; none is this tenant's.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(comparisonsOf(ids)).toEqual([]);
    expect(await reservationsOf(ids, true)).toEqual([]);
    const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM shadow_runs WHERE tenant_id = 'plain'`);
    expect(rows[0].n).toBe(0);
  });
});
