jest.setTimeout(60_000);

import { DataSourceSql, openDataSource } from '@deliberate/persistence';
import { createTestDatabase, testTaskSpec } from '@deliberate/testing';
import { CreateTriageTables1796300000000 } from '@deliberate/triage/migrations/1796300000000-create-triage-tables';
import { AddTaskRetrySchedule1796700000000 } from '@deliberate/triage/migrations/1796700000000-add-task-retry-schedule';
import { TriageTaskRepository } from '@deliberate/triage/tasks/triage-task.repository';
import { randomUUID } from 'node:crypto';

// Two triage instances polling for due tries at once take each due task once between them, take none that is not
// due or is finished, and a taken task is not due again until its lease passes.

it('hands each due task to one instance: one another is taking is skipped, not waited for; none is taken twice, nor one not due', async () => {
  const database = await createTestDatabase('triage_retry_claims');
  const db = await openDataSource({
    databaseUrl: database.url,
    schema: 'triage',
    entities: [],
    migrations: [CreateTriageTables1796300000000, AddTaskRetrySchedule1796700000000],
    poolSize: 6,
  });
  const one = new TriageTaskRepository(new DataSourceSql(db));
  const two = new TriageTaskRepository(new DataSourceSql(db));
  try {
    const insert = async (retryAt: string | null, state = 'decided') => {
      const taskId = randomUUID();
      const event = {
        id: randomUUID(),
        tenantId: 'acme',
        taskId,
        data: {
          spec: testTaskSpec('What is 2 + 2?'),
          submittedVia: 'http',
          acceptedAt: new Date().toISOString(),
        },
      };
      await db.query(
        `INSERT INTO tasks (task_id, tenant_id, accepted_at, deadline_at, state, retry_at, accepted_event,
                            outcome_event_id)
         VALUES ($1, 'acme', now(), now() + interval '1 minute', $2, ${retryAt ?? 'NULL'}, $3, $4)`,
        [taskId, state, JSON.stringify(event), state === 'finished' ? randomUUID() : null],
      );
      return taskId;
    };
    const due = await Promise.all(Array.from({ length: 20 }, () => insert(`now() - interval '1 second'`)));
    await insert(`now() + interval '1 minute'`);
    await insert(null);
    await insert(`now() - interval '1 second'`, 'finished');

    // Another instance in the middle of taking five of them: they are skipped, not waited for, nor taken twice.
    const other = db.createQueryRunner();
    await other.connect();
    await other.startTransaction();
    const locked = due.slice(0, 5);
    await other.query(`SELECT task_id FROM tasks WHERE task_id = ANY($1) FOR UPDATE`, [locked]);
    const first = await one.takeDue(100, 30_000);
    await other.commitTransaction();
    await other.release();
    const second = await two.takeDue(100, 30_000);

    expect(first.map((t) => t.task.taskId).sort()).toEqual(due.slice(5).sort());
    expect(second.map((t) => t.task.taskId).sort()).toEqual([...locked].sort());
    // Each comes with the accepted event it is resumed from.
    expect([...first, ...second].every((t) => t.event.taskId === t.task.taskId)).toBe(true);
    // Under their lease now: not due again for either instance.
    const [a, b] = await Promise.all([one.takeDue(100, 30_000), two.takeDue(100, 30_000)]);
    expect([...a, ...b]).toEqual([]);
  } finally {
    await db.destroy();
    await database.drop();
  }
});
