import { spendQuerySchema } from './ledger-http.dto';

const TASK = '0193a0c4-5e3b-7c41-9d2e-4f6a7b8c9d0e';

function issues(query: Record<string, unknown>): { path: PropertyKey[]; message: string }[] {
  const parsed = spendQuerySchema.safeParse(query);
  return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path, message: i.message }));
}

describe('spendQuerySchema groupBy=call', () => {
  it("accepts a row per call for one task, and keeps the task's id", () => {
    const parsed = spendQuerySchema.parse({ groupBy: 'call', taskId: TASK });
    expect(parsed).toMatchObject({ groupBy: 'call', taskId: TASK });
  });

  it('refuses it without a taskId, saying why, on groupBy', () => {
    expect(issues({ groupBy: 'call' })).toEqual([
      {
        path: ['groupBy'],
        message: 'groupBy=call needs a taskId: one row per model call is reported for one task only',
      },
    ]);
  });

  it('still refuses a taskId that is not a uuid, and a group that does not exist', () => {
    expect(issues({ groupBy: 'call', taskId: 'task-1' }).map((i) => i.path)).toEqual([['taskId']]);
    expect(issues({ groupBy: 'calls', taskId: TASK }).map((i) => i.path)).toEqual([['groupBy']]);
    expect(issues({ groupBy: ['call', 'model'], taskId: TASK }).map((i) => i.path)).toEqual([['groupBy']]);
  });

  it('leaves the other groupings free of a taskId', () => {
    for (const groupBy of ['model', 'day', 'route', 'tenant']) {
      expect(spendQuerySchema.safeParse({ groupBy }).success).toBe(true);
    }
  });
});
