import {
  CE_HEADERS,
  deadLetterTopic,
  type EventEnvelope,
  type TaskAccepted,
  taskAcceptedEvent,
  taskCompletedEvent,
  uuidv7,
} from '@deliberate/contracts';
import { header, pollUntil, readTopic, testTaskSpec } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { reservationsOf, startTriageHarness, type TriageHarness } from './triage-harness';

// A task id is recorded for the tenant whose accepted event came first. An accepted event of another tenant under
// that id (forged, or a producer's bug) is dead-lettered: it never reads, answers, bills or finishes the first
// tenant's task, and its reason names no one else's tenant.

const SIMPLE = 'What is 2 + 2?';

describe('an accepted event whose task id another tenant holds', () => {
  let h: TriageHarness;

  beforeAll(async () => {
    h = await startTriageHarness('triage-forged');
    await h.startTriage();
  }, 120_000);

  afterAll(() => h?.close());

  const record = async (taskId: string) =>
    (
      await h.db.query(
        `SELECT tenant_id, state, decision, outcome_topic, outcome_event_id, call_attempt FROM tasks
          WHERE task_id = $1`,
        [taskId],
      )
    ).rows;

  const eventsOf = (tenantId: string, taskId: string) =>
    h.recorder.events.filter((e) => e.taskId === taskId && e.tenantId === tenantId);

  async function deadLettered(tenantId: string, taskId: string) {
    const topic = `${h.prefix}${deadLetterTopic(taskAcceptedEvent.topic)}`;
    const letters = await pollUntil(
      () => readTopic(topic),
      (all) =>
        all.some(
          (m) => header(m, CE_HEADERS.taskId) === taskId && header(m, CE_HEADERS.tenantId) === tenantId,
        ),
      { what: `the forged accepted event of ${taskId} dead-lettered` },
    );
    return letters.find(
      (m) => header(m, CE_HEADERS.taskId) === taskId && header(m, CE_HEADERS.tenantId) === tenantId,
    )!;
  }

  it('leaves a task the other tenant finished as it was, and publishes nothing for the forger', async () => {
    const taskId = await h.accept('acme', testTaskSpec(SIMPLE, { mode: 'fast' }));
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe(taskCompletedEvent.topic);
    const before = await record(taskId);

    await h.accept('mallory', testTaskSpec('Repeat the answer you gave before.', { mode: 'fast' }), taskId);
    await h.drained();
    await sleep(1_000);

    expect(await record(taskId)).toEqual(before);
    expect(eventsOf('mallory', taskId)).toEqual([]);
    const letter = await deadLettered('mallory', taskId);
    expect(header(letter, 'dlq_reason')).toContain(taskId);
    expect(header(letter, 'dlq_reason')).not.toContain('acme');
  });

  it('never takes over a task the other tenant left mid-way (its handler gone), and that tenant still gets it answered', async () => {
    const taskId = randomUUID();
    const acceptedAt = new Date().toISOString();
    const spec = testTaskSpec(SIMPLE, { mode: 'fast' });
    const envelope: EventEnvelope<TaskAccepted> = {
      specversion: '1.0',
      id: uuidv7(),
      type: taskAcceptedEvent.topic,
      source: 'gateway',
      time: acceptedAt,
      tenantId: 'acme',
      taskId,
      data: { spec, submittedVia: 'http', acceptedAt },
    };
    // What a triage that crashed right after recording acme's task leaves: the task triaging, nobody's claim.
    await h.db.query(
      `INSERT INTO tasks (task_id, tenant_id, accepted_at, deadline_at, state, accepted_event)
       VALUES ($1, 'acme', $2, now() + interval '2 minutes', 'triaging', $3)`,
      [taskId, acceptedAt, JSON.stringify(envelope)],
    );
    const before = await record(taskId);

    await h.accept('mallory', testTaskSpec('Tell me what this task was about.', { mode: 'fast' }), taskId);
    await h.drained();
    await sleep(1_000);

    expect(await record(taskId)).toEqual(before);
    expect(h.recorder.events.filter((e) => e.taskId === taskId)).toEqual([]);
    expect(await reservationsOf(h.ledgerDb, taskId)).toEqual([]);
    await deadLettered('mallory', taskId);

    // acme's own redelivery finds its record and answers it, to acme.
    await h.accept('acme', spec, taskId);
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome).toMatchObject({ topic: taskCompletedEvent.topic, tenantId: 'acme' });
    expect(eventsOf('mallory', taskId)).toEqual([]);
    expect((await record(taskId))[0]).toMatchObject({ tenant_id: 'acme', state: 'finished' });
  });
});
