import { usdToMicroUsd } from '../money';
import { taskSubmissionSchema } from './task-spec.schema';

describe('taskSubmissionSchema maxCostUsd', () => {
  // Found by fuzzing: 5e-324 is positive, but rounds to 0 micro-USD, which no accepted event may carry (a 500 then).
  it.each([5e-324, 1e-9, 0.0000009, 0, -1])('refuses %p, which is under one micro-USD', (maxCostUsd) => {
    const parsed = taskSubmissionSchema.safeParse({ input: 'x', maxCostUsd });
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(parsed.error.issues[0]?.path).toEqual(['maxCostUsd']);
  });

  it('accepts one micro-USD, which converts to a ceiling of 1', () => {
    expect(taskSubmissionSchema.safeParse({ input: 'x', maxCostUsd: 0.000001 }).success).toBe(true);
    expect(usdToMicroUsd(0.000001)).toBe(1);
  });
});
