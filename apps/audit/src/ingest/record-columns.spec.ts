import { EVENT_CATALOGUE } from '@deliberate/contracts';
import { EXTRACTED_TYPES, recordColumns } from './record-columns';

describe('recordColumns', () => {
  it('knows every event of the catalogue', () => {
    expect([...EXTRACTED_TYPES].sort()).toEqual(EVENT_CATALOGUE.map((e) => e.topic).sort());
  });

  it('reads the route and who decided from a triage decision, and the answerer from a completion', () => {
    expect(
      recordColumns({
        type: 'tasks.task.triaged.v1',
        data: { decision: { route: 'fast', decidedBy: 'rule', reason: 'short' } },
      }),
    ).toEqual({ route: 'fast', model: null, status: 'triaged', decision: 'rule', metadata: {} });
    expect(
      recordColumns({
        type: 'tasks.task.completed.v1',
        data: { result: { answeredBy: 'human', model: null } },
      }),
    ).toMatchObject({ status: 'completed', decision: 'human', model: null });
  });
});
