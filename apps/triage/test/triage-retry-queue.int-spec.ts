import { taskAcceptedEvent, taskCompletedEvent, taskFailedEvent } from '@deliberate/contracts';
import { pollUntil, testTaskSpec } from '@deliberate/testing';
import { Partitioners } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { modelCallsOf, startTriageHarness, type TriageHarness } from './triage-harness';

// A task whose fast model keeps failing waits for its next try in its record, not in the Kafka handler: the tasks
// behind it on its partition go on, a periodic job resumes it when its try is due, and at its deadline it fails
// naming what was down.

const BROKEN = 'Say hi [[sim:fault=500]]';

// The partition the producer puts a task's accepted event on (keyed by task id, kafkajs' default partitioner).
const partitionOf = (() => {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: taskAcceptedEvent.partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return (taskId: string) =>
    partitioner({ topic: 'accepted', partitionMetadata, message: { key: taskId, value: null } });
})();

/** A new task id whose accepted event lands on the same partition as `taskId`'s. */
function samePartitionAs(taskId: string): string {
  for (;;) {
    const id = randomUUID();
    if (partitionOf(id) === partitionOf(taskId)) return id;
  }
}

describe('triage retries from the task record (real Kafka, Postgres, ledger; simulated models)', () => {
  let h: TriageHarness;

  const record = async (taskId: string) =>
    (
      await h.db.query(
        `SELECT state, retry_at, retry_attempts, last_error, claim_owner FROM tasks WHERE task_id = $1`,
        [taskId],
      )
    ).rows[0] as
      | {
          state: string;
          retry_at: Date | null;
          retry_attempts: number;
          last_error: string | null;
          claim_owner: string | null;
        }
      | undefined;

  beforeAll(async () => {
    h = await startTriageHarness('triage-retries');
    // Two instances: both run the retry job, and a due task is resumed by one of them only.
    await h.startTriage({ TRIAGE_INSTANCE_ID: 'one' });
    await h.startTriage({ TRIAGE_INSTANCE_ID: 'two' });
  }, 120_000);

  afterAll(() => h?.close());

  it('answers the task behind a failing one on the same partition while the failing one still waits for its next try', async () => {
    const broken = await h.accept('acme', testTaskSpec(BROKEN, { mode: 'fast', latencyBudgetMs: 60_000 }));
    await h.recorder.waitFor(
      () => modelCallsOf(h.recorder, broken).length >= 1,
      `the first failed call of ${broken}`,
    );

    const behind = await h.accept(
      'acme',
      testTaskSpec('What is 2 + 2?', { mode: 'fast' }),
      samePartitionAs(broken),
    );

    const outcome = (await h.recorder.outcomes([behind])).get(behind)!;
    expect(outcome.topic).toBe(taskCompletedEvent.topic);
    // The broken task has no verdict yet: it waits in its record for its next try, with what went wrong.
    expect(h.recorder.outcome(broken)).toBeUndefined();
    const waiting = (await pollUntil(
      () => record(broken),
      (r) => (r?.retry_attempts ?? 0) >= 2,
      { what: `a second scheduled try of ${broken}` },
    ))!;
    expect(waiting.state).toBe('decided');
    expect(waiting.last_error).toContain('server_error');
    expect(
      modelCallsOf(h.recorder, broken).every(
        ([purpose, outcome]) => purpose === 'answer' && outcome === 'error',
      ),
    ).toBe(true);
  });

  it('does nothing with a redelivered accepted event of a task waiting for its next try: its offset moves on at once', async () => {
    const broken = await h.accept('acme', testTaskSpec(BROKEN, { mode: 'fast', latencyBudgetMs: 60_000 }));
    await pollUntil(
      () => record(broken),
      (r) => r !== undefined && r.retry_at !== null && r.claim_owner === null,
      { what: `a scheduled try of ${broken}` },
    );

    await h.accept('acme', testTaskSpec(BROKEN, { mode: 'fast', latencyBudgetMs: 60_000 }), broken);
    await h.drained();

    expect(h.recorder.outcome(broken)).toBeUndefined();
    expect((await record(broken))!.state).toBe('decided');
  });

  it('fails a task whose fast model fails until its deadline with deadline_exceeded, naming the fast model and its error, once', async () => {
    const taskId = await h.accept('acme', testTaskSpec(BROKEN, { mode: 'fast', latencyBudgetMs: 2_000 }));

    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe(taskFailedEvent.topic);
    expect(outcome.data.error.code).toBe('deadline_exceeded');
    expect(outcome.data.error.message).toContain('the fast model');
    expect(outcome.data.error.message).toContain('server_error');
    // Tried more than once, each try by one handler, before the deadline.
    const calls = modelCallsOf(h.recorder, taskId);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    const stored = (await record(taskId))!;
    expect(stored.state).toBe('finished');
    expect(stored.retry_at).toBeNull();
    expect(
      h.recorder.events.filter((e) => e.taskId === taskId && e.topic === taskFailedEvent.topic),
    ).toHaveLength(1);
  });
});
