import {
  CE_HEADERS,
  taskCancelRequestedEvent,
  taskCompletedEvent,
  type ReviewItem,
  type TaskResponse,
} from '@deliberate/contracts';
import { collectMessages, header, pollUntil } from '@deliberate/testing';
import { createTenant, http, startStack, type TestStack } from './stack';

// The end of the fallback chain and cancellation through the whole stack: the executor escalates what no model of the
// tenant's chain gave a usable answer to, reviewers list, claim and answer it; clients cancel tasks, in flight or waiting.

let stack: TestStack;
let acme: Awaited<ReturnType<typeof createTenant>>;
let reviewerA: string;
let reviewerB: string;

async function keyFor(role: string, tenant = 'acme', admin = acme.admin): Promise<string> {
  const r = await http<{ key: string }>(stack, 'POST', `/v1/admin/tenants/${tenant}/api-keys`, {
    key: admin,
    body: { role },
  });
  expect(r.status).toBe(201);
  return r.body.key;
}

async function task(id: string, key = acme.submitter) {
  return (await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key })).body;
}

/**
 * A task no model gives a usable answer to: the tenant's chain is the reasoning model then a person, and the
 * reasoning model thinks past its cap, so the executor escalates it. (An outage would not: it is waited out.)
 */
/** A task of acme's submitter that the fast model answered, once it is completed. */
async function completedFastTask(): Promise<string> {
  const res = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
    key: acme.submitter,
    body: { input: 'Hi', mode: 'fast' },
  });
  expect(res.status).toBe(202);
  await pollUntil(
    () => task(res.body.id),
    (t) => t.status === 'completed',
    { what: `the fast answer of ${res.body.id}` },
  );
  return res.body.id;
}

async function escalatedTask(): Promise<string> {
  const res = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
    key: acme.submitter,
    body: {
      input: 'Decide whether to approve the loan. [[sim:reasoning_tokens=500000]]',
      mode: 'reasoning',
      maxThinkingTokens: 1_000,
    },
  });
  const id = res.body.id;
  await pollUntil(
    () => task(id),
    (t) => t.status === 'needs_human',
    { timeoutMs: 30_000, what: 'needs_human' },
  );
  return id;
}

beforeAll(async () => {
  stack = await startStack('review');
  acme = await createTenant(stack, 'acme');
  const policy = await http(stack, 'PUT', '/v1/policy', { key: acme.admin, body: { fallback: ['human'] } });
  expect(policy.status).toBe(200);
  reviewerA = await keyFor('reviewer');
  reviewerB = await keyFor('reviewer');
});

afterAll(async () => {
  await stack?.close();
});

describe('human review queue', () => {
  it('lists, claims and answers an escalated task, which completes as answered by a human', async () => {
    const id = await escalatedTask();
    const waiting = await task(id);
    // A content reason, named first: the reasoning model hit its thinking cap.
    expect(waiting.escalation!.reason).toMatch(/^limit_hit/);
    expect(waiting.escalation!.attempts.join(' ')).toContain('reasoning');

    const queue = await http<ReviewItem[]>(stack, 'GET', '/v1/reviews', { key: reviewerA });
    expect(queue.status).toBe(200);
    expect(queue.body.map((i) => i.task.id)).toContain(id);

    // Answering without a claim, or while another reviewer holds it, is refused.
    const unclaimed = await http(stack, 'POST', `/v1/reviews/${id}/answer`, {
      key: reviewerA,
      body: { answer: 'Approve.' },
    });
    expect(unclaimed.status).toBe(409);
    expect(unclaimed.body['message']).toContain('claim task');
    const claimed = await http<ReviewItem>(stack, 'POST', `/v1/reviews/${id}/claim`, { key: reviewerA });
    expect(claimed.status).toBe(201);
    expect(claimed.body.claim).not.toBeNull();
    const stolen = await http(stack, 'POST', `/v1/reviews/${id}/claim`, { key: reviewerB });
    expect(stolen.status).toBe(409);
    expect(stolen.body['message']).toContain('claimed by another reviewer');
    const wrong = await http(stack, 'POST', `/v1/reviews/${id}/answer`, {
      key: reviewerB,
      body: { answer: 'Deny.' },
    });
    expect(wrong.status).toBe(409);
    expect(
      (await http(stack, 'POST', `/v1/reviews/${id}/answer`, { key: reviewerA, body: { answer: '' } }))
        .status,
    ).toBe(400);

    const answered = await http(stack, 'POST', `/v1/reviews/${id}/answer`, {
      key: reviewerA,
      body: { answer: 'Approve: income covers the instalments twice over.' },
    });
    expect(answered.status).toBe(202);
    const done = await pollUntil(
      () => task(id),
      (t) => t.status === 'completed',
      { what: 'the human answer' },
    );
    expect(done.result).toMatchObject({
      answeredBy: 'human',
      answer: 'Approve: income covers the instalments twice over.',
      model: null,
    });
    const [completed] = await collectMessages(stack.topic(taskCompletedEvent.topic), 1, {
      filter: (m) => header(m, CE_HEADERS.taskId) === id,
    });
    expect(header(completed!, CE_HEADERS.source)).toBe('deliberate/gateway');
    // Who answered goes on record with the answer, for the audit trail.
    expect(JSON.parse(completed!.value!.toString())).toMatchObject({
      review: { reviewerKeyId: claimed.body.claim!.reviewerKeyId, claimedAt: claimed.body.claim!.claimedAt },
    });
    // The audit trail holds the escalation and the human answer with its reviewer.
    const timeline = await pollUntil(
      async () =>
        (
          await http<{
            entries?: { type: string; decision: string | null; data: Record<string, unknown> }[];
          }>(stack, 'GET', `/v1/audit/tasks/${id}`, { key: acme.auditor })
        ).body.entries ?? [],
      (entries) => entries.some((e) => e.type === 'tasks.task.completed.v1'),
      { what: 'the human answer in the audit trail' },
    );
    expect(timeline.map((e) => e.type)).toContain('tasks.task.escalated.v1');
    expect(timeline.find((e) => e.type === 'tasks.task.completed.v1')).toMatchObject({
      decision: 'human',
      data: { review: { reviewerKeyId: claimed.body.claim!.reviewerKeyId } },
    });
    // A finished task is no longer reviewable.
    expect((await http(stack, 'POST', `/v1/reviews/${id}/claim`, { key: reviewerB })).status).toBe(409);
    // The reviewers of the tenant read the task they were asked about, with the answer it completed with.
    const asReviewer = await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key: reviewerB });
    expect(asReviewer.status).toBe(200);
    expect(asReviewer.body).toMatchObject({ id, status: 'completed', result: { answeredBy: 'human' } });
  });

  it('keeps reviewers to their roles and tenants', async () => {
    expect((await http(stack, 'GET', '/v1/reviews', { key: acme.submitter })).status).toBe(403);
    expect((await http(stack, 'GET', '/v1/reviews?limit=0', { key: reviewerA })).status).toBe(400);
    const globex = await createTenant(stack, 'globex-review');
    const id = await escalatedTask();
    const foreign = await http<ReviewItem[]>(stack, 'GET', '/v1/reviews', { key: globex.admin });
    expect(foreign.body.map((i) => i.task.id)).not.toContain(id);
    expect((await http(stack, 'POST', `/v1/reviews/${id}/claim`, { key: globex.admin })).status).toBe(404);
    // A reviewer reads the tasks a human was asked about, no other task of its tenant, and nothing of another's.
    expect((await http(stack, 'GET', `/v1/tasks/${id}`, { key: reviewerA })).status).toBe(200);
    const foreignReviewer = await keyFor('reviewer', 'globex-review', globex.admin);
    const foreignRead = await http(stack, 'GET', `/v1/tasks/${id}`, { key: foreignReviewer });
    expect(foreignRead.status).toBe(404);
    const fastId = await completedFastTask();
    const notAsked = await http<{ message: string }>(stack, 'GET', `/v1/tasks/${fastId}`, {
      key: reviewerA,
    });
    expect(notAsked.status).toBe(404);
    expect(notAsked.body.message).toBe(`task ${fastId} not found`);
  });
});

interface TimelineEntry {
  type: string;
  model: string | null;
  data: Record<string, unknown>;
}
type Timeline = { entries?: TimelineEntry[]; message?: string };

const timelineAs = (key: string, id: string) =>
  http<Timeline>(stack, 'GET', `/v1/audit/tasks/${id}`, { key });

/** Polls a reviewer's read of a task's timeline until it is refused with a message matching `reason`. */
const refusedUntil = (key: string, id: string, reason: RegExp) =>
  pollUntil(
    () => timelineAs(key, id),
    (r) => r.status === 403 && reason.test(String(r.body.message)),
    { what: `a refusal matching ${reason}` },
  );

describe("a reviewer's view of the audit trail", () => {
  it('reads the timeline of a waiting task, its attempts traced, until the task is answered', async () => {
    const id = await escalatedTask();
    const since = new Date().toISOString();
    // The audit service records the escalation a moment after the task's status shows it.
    const read = await pollUntil(
      () => timelineAs(reviewerA, id),
      (r) =>
        r.status === 200 &&
        (r.body.entries ?? []).some((e) => e.type === 'tasks.task.escalated.v1') &&
        (r.body.entries ?? []).some((e) => e.type === 'reasoning.trace.recorded.v1'),
      { what: "the reviewer's read of the escalated task" },
    );
    const trace = read.body.entries!.find((e) => e.type === 'reasoning.trace.recorded.v1')!;
    expect(trace.model).toEqual(expect.any(String));
    expect(trace.data).toMatchObject({ outcome: 'limit_hit', tier: 'reasoning' });
    expect(trace.data).toHaveProperty('trace');
    expect(trace.data['usage']).toMatchObject({ outputTokens: expect.any(Number) });

    // Only this route: the trail at large stays an auditor's.
    for (const path of [
      '/v1/audit/events',
      '/v1/audit/export?from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z',
      '/v1/audit/verify',
      '/v1/audit/checkpoints',
    ]) {
      const res = await http(stack, 'GET', path, { key: reviewerA });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    // Another tenant's reviewer learns nothing of the task, not even that it exists.
    const globex = await createTenant(stack, 'globex-trail');
    const foreign = await keyFor('reviewer', 'globex-trail', globex.admin);
    const elsewhere = await timelineAs(foreign, id);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.entries).toBeUndefined();

    // The reviewer's read is itself on record, naming the reviewer's key, as an auditor's is.
    const claimed = await http<ReviewItem>(stack, 'POST', `/v1/reviews/${id}/claim`, { key: reviewerA });
    expect(claimed.status).toBe(201);
    const keyId = claimed.body.claim!.reviewerKeyId;
    const queries = await http<{ items: { data: Record<string, unknown> }[] }>(
      stack,
      'GET',
      `/v1/audit/events?type=audit.query.v1&decision=task-timeline&from=${since}&limit=500`,
      { key: acme.auditor },
    );
    expect(queries.status).toBe(200);
    expect(
      queries.body.items.map((i) => i.data).filter((d) => JSON.stringify(d['filters']).includes(id)),
    ).toContainEqual(
      expect.objectContaining({
        endpoint: 'task-timeline',
        who: { kind: 'tenant', tenantId: 'acme', role: 'reviewer', keyId },
      }),
    );

    const answered = await http(stack, 'POST', `/v1/reviews/${id}/answer`, {
      key: reviewerA,
      body: { answer: 'Deny: the figures do not add up.' },
    });
    expect(answered.status).toBe(202);
    const after = await refusedUntil(reviewerA, id, /was answered by a reviewer at .* no longer waits/);
    expect(after.body.entries).toBeUndefined();
    // The auditor still reads it whole.
    expect((await timelineAs(acme.auditor, id)).status).toBe(200);
  });

  it('refuses the timeline of a task no human was asked about', async () => {
    const fast = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      body: { input: 'Hi', mode: 'fast' },
    });
    expect(fast.status).toBe(202);
    const refused = await refusedUntil(reviewerA, fast.body.id, /was completed at .* no longer waits/);
    expect(refused.body.entries).toBeUndefined();
    expect((await timelineAs(acme.auditor, fast.body.id)).status).toBe(200);
  });
});

describe('cancellation', () => {
  it('cancels a task waiting for a human at once', async () => {
    const id = await escalatedTask();
    const res = await http(stack, 'POST', `/v1/tasks/${id}/cancel`, {
      key: acme.submitter,
      body: { reason: 'no longer needed' },
    });
    expect(res.status).toBe(202);
    const cancelled = await pollUntil(
      () => task(id),
      (t) => t.status === 'cancelled',
      { what: 'cancelled' },
    );
    expect(cancelled.cancellation).toMatchObject({ reason: 'no longer needed' });
    await refusedUntil(reviewerB, id, /was cancelled at .* no longer waits/);
    expect((await http(stack, 'POST', `/v1/tasks/${id}/cancel`, { key: acme.submitter })).status).toBe(409);
  });

  it('aborts an in-flight reasoning call on request, and refuses finished or foreign tasks', async () => {
    const res = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      body: { input: 'Plan the migration step by step. [[sim:fault=hang]]', mode: 'reasoning' },
    });
    const id = res.body.id;
    await pollUntil(
      () => task(id),
      (t) => t.status === 'reasoning',
      { timeoutMs: 30_000, what: 'reasoning' },
    );
    const cancel = await http(stack, 'POST', `/v1/tasks/${id}/cancel`, { key: acme.submitter });
    expect(cancel.status).toBe(202);
    expect(cancel.body).toMatchObject({ id, cancellation: 'requested' });
    const [requested] = await collectMessages(stack.topic(taskCancelRequestedEvent.topic), 1, {
      filter: (m) => header(m, CE_HEADERS.taskId) === id,
    });
    expect(JSON.parse(requested!.value!.toString())).toMatchObject({ reason: 'cancelled by the client' });
    const cancelled = await pollUntil(
      () => task(id),
      (t) => t.status === 'cancelled',
      { timeoutMs: 30_000, what: 'cancelled' },
    );
    expect(cancelled.cancellation).toMatchObject({ reason: 'cancelled by the client' });
    expect(cancelled.result).toBeNull();

    const globex = await createTenant(stack, 'globex-cancel');
    expect((await http(stack, 'POST', `/v1/tasks/${id}/cancel`, { key: globex.submitter })).status).toBe(404);
    expect((await http(stack, 'POST', `/v1/tasks/${id}/cancel`, { key: acme.auditor })).status).toBe(403);
    const bad = await http(stack, 'POST', `/v1/tasks/${id}/cancel`, {
      key: acme.submitter,
      body: { reason: 7 },
    });
    expect(bad.status).toBe(400);

    const late = await http(stack, 'POST', `/v1/tasks/${await completedFastTask()}/cancel`, {
      key: acme.submitter,
    });
    expect(late.status).toBe(409);
    expect(late.body['message']).toContain('already completed');
  });
});
