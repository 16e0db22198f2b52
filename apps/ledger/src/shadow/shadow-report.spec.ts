import { projectMonthly, wilsonInterval } from './shadow-report';

describe('wilsonInterval', () => {
  it('matches the published Wilson score interval', () => {
    // 81 of 263 (Wilson 1927 as tabulated by Newcombe 1998): 0.2553 to 0.3662.
    const i = wilsonInterval(81, 263)!;
    expect(i.low).toBeCloseTo(0.2553, 4);
    expect(i.high).toBeCloseTo(0.3662, 4);
  });

  it('stays within 0 and 1 at the edges and narrows as the sample grows', () => {
    expect(wilsonInterval(10, 10)!.high).toBeCloseTo(1, 10);
    expect(wilsonInterval(10, 10)!.low).toBeCloseTo(0.7225, 4);
    expect(wilsonInterval(0, 10)!.low).toBeCloseTo(0, 10);
    const small = wilsonInterval(5, 10)!;
    const large = wilsonInterval(500, 1000)!;
    expect(large.high - large.low).toBeLessThan(small.high - small.low);
  });

  it('has no interval without a trial', () => {
    expect(wilsonInterval(0, 0)).toBeNull();
  });
});

describe('projectMonthly', () => {
  it("scales each side's cost per compared task to the route's tasks per 30 days", () => {
    // 100 route tasks in 2 days: 1,500 a month; 50 compared at 2,000 live and 500 shadow micro-USD each.
    expect(
      projectMonthly({
        compared: 50,
        liveMicroUsd: 100_000,
        shadowMicroUsd: 25_000,
        routeTasks: 100,
        windowMs: 2 * 86_400_000,
      }),
    ).toEqual({ tasksPerMonth: 1_500, liveMicroUsd: 3_000_000, shadowMicroUsd: 750_000 });
  });

  it('projects nothing without a comparison or a window', () => {
    const base = { compared: 1, liveMicroUsd: 1, shadowMicroUsd: 1, routeTasks: 1, windowMs: 1 };
    expect(projectMonthly({ ...base, compared: 0 })).toBeNull();
    expect(projectMonthly({ ...base, windowMs: 0 })).toBeNull();
  });
});
