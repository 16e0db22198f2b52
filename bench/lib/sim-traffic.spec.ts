import { peakRate, requestsBetween, SIM_ROUTES, socketsWhileHeld } from './sim-traffic.ts';

describe('requestsBetween', () => {
  it('counts each route between two readings, everything unclassified as other', () => {
    const before = { [SIM_ROUTES.create]: 10, [SIM_ROUTES.poll]: 40, 'GET /health': 3 };
    const after = {
      [SIM_ROUTES.create]: 310,
      [SIM_ROUTES.poll]: 1_240,
      [SIM_ROUTES.cancel]: 2,
      [SIM_ROUTES.chat]: 5,
      'GET /health': 4,
      'GET /v1/models': 1,
    };

    expect(requestsBetween(before, after)).toEqual({
      creates: 300,
      polls: 1_200,
      cancels: 2,
      chat: 5,
      other: 2,
      total: 1_509,
    });
  });

  it('counts from zero without a first reading, and nothing without a last one', () => {
    expect(requestsBetween(null, { [SIM_ROUTES.chat]: 7 })).toMatchObject({ chat: 7, total: 7 });
    expect(requestsBetween({ [SIM_ROUTES.chat]: 7 }, null)).toMatchObject({ chat: 0, total: 0 });
  });
});

describe('peakRate', () => {
  const poll = SIM_ROUTES.poll;

  it("takes the highest rate between successive writes, over the probe's clock", () => {
    const samples = [
      { t: 0, at: 1_000, counts: { [poll]: 0 } },
      { t: 1, at: 2_000, counts: { [poll]: 50 } },
      // The same write read twice: not a second of no polls.
      { t: 2, at: 2_000, counts: { [poll]: 50 } },
      { t: 3, at: 4_000, counts: { [poll]: 450 } },
      { t: 4, at: 5_000, counts: { [poll]: 460 } },
    ];

    expect(peakRate(samples, poll)).toEqual({ perS: 200, at: 3 });
  });

  it('is NaN with fewer than two distinct writes', () => {
    expect(peakRate([{ t: 0, at: 1_000, counts: { [poll]: 9 } }], poll).perS).toBeNaN();
    expect(peakRate([], poll).perS).toBeNaN();
  });
});

describe('socketsWhileHeld', () => {
  it('keeps the socket samples taken while calls were in flight, in time order', () => {
    const calls = [
      { t: 0, v: 0 },
      { t: 2, v: 100 },
      { t: 5, v: 40 },
      { t: 7, v: 0 },
    ];
    // Out of order, as the probes answer.
    const sockets = [
      { t: 3, n: 2 },
      { t: 1, n: 9 },
      { t: 2, n: 0 },
      { t: 4, n: 30 },
      { t: 6, n: 1 },
      { t: 8, n: 7 },
    ];

    expect(socketsWhileHeld(sockets, calls)).toEqual({ p50: 1, p90: 30, samples: 4 });
  });

  it('is NaN when no call was in flight', () => {
    expect(socketsWhileHeld([{ t: 1, n: 3 }], []).p50).toBeNaN();
  });
});
