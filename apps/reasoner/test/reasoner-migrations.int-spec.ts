jest.setTimeout(60_000);

import { uuidv7 } from '@deliberate/contracts';
import { openDataSource } from '@deliberate/persistence';
import { CreateReasonerTables1795700000000 } from '@deliberate/reasoner/migrations/1795700000000-create-reasoner-tables';
import { MoveOutcomesToOutbox1796200000000 } from '@deliberate/reasoner/migrations/1796200000000-move-outcomes-to-outbox';
import { AddAttemptResponseId1797000000000 } from '@deliberate/reasoner/migrations/1797000000000-add-attempt-response-id';
import { createTestDatabase, testTaskSpec } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';

// Every migration can be undone, and done again; a terminal event waiting to be published survives both ways with
// its event id, and one already published is not published again.

const outcomeOf = (answer: string) => ({
  kind: 'completed',
  data: { result: { answer }, completedAt: new Date().toISOString(), review: null },
});

async function insertExecution(
  db: DataSource,
  row: { outcome: ReturnType<typeof outcomeOf> | null; eventId?: string; published?: boolean },
): Promise<string> {
  const taskId = randomUUID();
  await db.query(
    `INSERT INTO executions (id, task_id, tenant_id, spec, decision, requested_at, created_at, deadline_at, status,
                             owner, lease_expires_at, outcome, finished_at, updated_at)
     VALUES ($1, $2, 'acme', $3, '{}', now(), now(), now() + interval '10 minutes', $4, 'an-instance', NULL, $5, $6,
             now())`,
    [
      randomUUID(),
      taskId,
      JSON.stringify(testTaskSpec('migrated')),
      row.outcome ? 'completed' : 'running',
      row.outcome ? JSON.stringify(row.outcome) : null,
      row.outcome ? new Date() : null,
    ],
  );
  if (row.eventId) {
    await db.query(
      `UPDATE executions SET outcome_event_id = $2, published_at = CASE WHEN $3::boolean THEN now() END
        WHERE task_id = $1`,
      [taskId, row.eventId, row.published ?? false],
    );
  }
  return taskId;
}

it('moves outcomes waiting to be published to the outbox, and back', async () => {
  const database = await createTestDatabase('reasoner_migrations');
  const db = await openDataSource({
    databaseUrl: database.url,
    schema: 'reasoner',
    entities: [],
    migrations: [CreateReasonerTables1795700000000, MoveOutcomesToOutbox1796200000000],
    poolSize: 2,
  });
  const tables = async () =>
    (
      await db.query<{ table_name: string }[]>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'reasoner' ORDER BY table_name`,
      )
    ).map((t) => t.table_name);
  const markers = async (taskIds: string[]) =>
    db.query<{ task_id: string; outcome_event_id: string | null; published: boolean }[]>(
      `SELECT task_id, outcome_event_id, published_at IS NOT NULL AS published FROM executions
        WHERE task_id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], task_id)`,
      [taskIds],
    );
  const outbox = () =>
    db.query<{ id: string; topic: string; task_id: string; payload: unknown; published: boolean }[]>(
      `SELECT id, topic, task_id, payload, published_at IS NOT NULL AS published FROM outbox ORDER BY id`,
    );
  try {
    expect(await tables()).toEqual(['attempts', 'cancel_requests', 'executions', 'migrations', 'outbox']);
    await db.undoLastMigration();
    expect(await tables()).toEqual(['attempts', 'cancel_requests', 'executions', 'migrations']);

    // Under the former markers: an outcome stored but not published, one published, and a running execution.
    const pendingEvent = uuidv7();
    const pendingOutcome = outcomeOf('waiting');
    const pending = await insertExecution(db, { outcome: pendingOutcome, eventId: pendingEvent });
    const published = await insertExecution(db, {
      outcome: outcomeOf('sent'),
      eventId: uuidv7(),
      published: true,
    });
    const running = await insertExecution(db, { outcome: null });

    expect(await db.runMigrations()).toHaveLength(1);
    expect(await outbox()).toEqual([
      {
        id: pendingEvent,
        topic: 'tasks.task.completed.v1',
        task_id: pending,
        payload: pendingOutcome.data,
        published: false,
      },
    ]);

    // Under the outbox: one finished and relayed, one finished with its event still pending.
    const relayed = await insertExecution(db, { outcome: outcomeOf('relayed') });
    const waiting = await insertExecution(db, { outcome: outcomeOf('not yet') });
    const relayedEvent = uuidv7();
    const waitingEvent = uuidv7();
    await db.query(
      `INSERT INTO outbox (id, topic, tenant_id, task_id, payload, published_at)
       VALUES ($1, 'tasks.task.completed.v1', 'acme', $2, '{}', now()),
              ($3, 'tasks.task.completed.v1', 'acme', $4, '{}', NULL)`,
      [relayedEvent, relayed, waitingEvent, waiting],
    );

    await db.undoLastMigration();
    expect(await tables()).toEqual(['attempts', 'cancel_requests', 'executions', 'migrations']);
    expect(await markers([pending, published, running, relayed, waiting])).toEqual([
      { task_id: pending, outcome_event_id: pendingEvent, published: false },
      { task_id: published, outcome_event_id: expect.any(String), published: true },
      { task_id: running, outcome_event_id: null, published: false },
      { task_id: relayed, outcome_event_id: relayedEvent, published: true },
      { task_id: waiting, outcome_event_id: waitingEvent, published: false },
    ]);

    expect(await db.runMigrations()).toHaveLength(1);
    expect((await outbox()).map((r) => [r.id, r.task_id, r.published])).toEqual([
      [pendingEvent, pending, false],
      [waitingEvent, waiting, false],
    ]);
    await db.undoLastMigration();
    await db.undoLastMigration();
    expect(await tables()).toEqual(['migrations']);
  } finally {
    await db.destroy();
    await database.drop();
  }
});

it('adds the response id of background calls to attempts, and takes it away', async () => {
  const database = await createTestDatabase('reasoner_migrations_response_id');
  const db = await openDataSource({
    databaseUrl: database.url,
    schema: 'reasoner',
    entities: [],
    migrations: [
      CreateReasonerTables1795700000000,
      MoveOutcomesToOutbox1796200000000,
      AddAttemptResponseId1797000000000,
    ],
    poolSize: 2,
  });
  const hasColumn = async () =>
    (
      await db.query<unknown[]>(
        `SELECT 1 FROM information_schema.columns
          WHERE table_schema = 'reasoner' AND table_name = 'attempts' AND column_name = 'response_id'`,
      )
    ).length === 1;
  try {
    expect(await hasColumn()).toBe(true);
    await db.undoLastMigration();
    expect(await hasColumn()).toBe(false);
    expect(await db.runMigrations()).toHaveLength(1);
    expect(await hasColumn()).toBe(true);
  } finally {
    await db.destroy();
    await database.drop();
  }
});
