import { reviewerAccess, type TaskRecordFact } from './review-access';

const id = '0190a5b2-0000-7000-8000-000000000001';
const at = (
  type: string,
  decision: string | null = null,
  occurredAt = '2026-01-01T00:00:00.000Z',
): TaskRecordFact => ({
  type,
  occurredAt,
  decision,
});
const waiting = [
  at('tasks.task.accepted.v1'),
  at('tasks.task.triaged.v1'),
  at('reasoning.trace.recorded.v1'),
  at('tasks.task.escalated.v1'),
];

describe('reviewerAccess', () => {
  it('lets a reviewer read a task that was escalated and has not ended', () => {
    expect(reviewerAccess(id, waiting)).toEqual({ allowed: true });
  });

  it('refuses a task a reviewer answered, saying when', () => {
    const verdict = reviewerAccess(id, [
      ...waiting,
      at('tasks.task.completed.v1', 'human', '2026-01-01T00:05:00.000Z'),
    ]);
    expect(verdict).toEqual({
      allowed: false,
      reason: `task ${id} was answered by a reviewer at 2026-01-01T00:05:00.000Z and no longer waits for a reviewer`,
    });
  });

  it('refuses a cancelled or failed task', () => {
    expect(reviewerAccess(id, [...waiting, at('tasks.task.cancelled.v1')])).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('was cancelled at'),
    });
    expect(reviewerAccess(id, [...waiting, at('tasks.task.failed.v1')])).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('was failed at'),
    });
  });

  it('refuses a task a model completed without ever escalating it', () => {
    const verdict = reviewerAccess(id, [
      at('tasks.task.accepted.v1'),
      at('tasks.task.completed.v1', 'model'),
    ]);
    expect(verdict).toMatchObject({ allowed: false, reason: expect.stringContaining('was completed at') });
  });

  it('refuses a task that is still being worked on and was never escalated', () => {
    expect(reviewerAccess(id, [at('tasks.task.accepted.v1'), at('tasks.task.triaged.v1')])).toEqual({
      allowed: false,
      reason: `task ${id} has not been escalated to a human, so a reviewer cannot read its trail`,
    });
  });

  it('refuses an ended task even when its ending is recorded before its escalation', () => {
    const verdict = reviewerAccess(id, [at('tasks.task.cancelled.v1'), ...waiting]);
    expect(verdict.allowed).toBe(false);
  });

  it('refuses a task with no records at all', () => {
    expect(reviewerAccess(id, []).allowed).toBe(false);
  });
});
