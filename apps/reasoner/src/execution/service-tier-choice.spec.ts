import { callServiceTier, serviceTierFor } from './service-tier-choice';

const TEN_MIN = 600_000;

describe('serviceTierFor', () => {
  it('is the default tier when the policy has no rule', () => {
    expect(serviceTierFor(3_600_000, [])).toEqual({
      tier: 'default',
      reason: 'the policy maps no latency budget to a service tier',
    });
  });

  it('asks for flex from the rule threshold up, the threshold included', () => {
    const rules = [{ minLatencyBudgetMs: TEN_MIN, tier: 'flex' as const }];
    expect(serviceTierFor(TEN_MIN, rules)).toEqual({
      tier: 'flex',
      reason: "latency budget 600 s reaches the policy's 600 s rule: flex",
    });
    expect(serviceTierFor(TEN_MIN - 1, rules)).toEqual({
      tier: 'default',
      reason: "latency budget 600 s is below the policy's lowest service-tier rule (600 s)",
    });
  });

  it('takes the highest threshold the budget reaches, whatever the order of the rules', () => {
    const rules = [
      { minLatencyBudgetMs: 3_600_000, tier: 'default' as const },
      { minLatencyBudgetMs: TEN_MIN, tier: 'flex' as const },
    ];
    expect(serviceTierFor(1_800_000, rules).tier).toBe('flex');
    expect(serviceTierFor(7_200_000, rules)).toEqual({
      tier: 'default',
      reason: "latency budget 7200 s reaches the policy's 3600 s rule: default",
    });
  });
});

describe('callServiceTier', () => {
  const flex = {
    tier: 'flex' as const,
    reason: "latency budget 900 s reaches the policy's 600 s rule: flex",
  };

  it('keeps the task tier on a model tier that offers flex and was not refused', () => {
    expect(callServiceTier(flex, { tier: 'reasoning', offersFlex: true, refused: null })).toBe(flex);
  });

  it('asks for the default tier through chat completions, saying why', () => {
    expect(callServiceTier(flex, { tier: 'standard', offersFlex: false, refused: null })).toEqual({
      tier: 'default',
      reason: `${flex.reason}; but the standard model is called through chat completions, which has no flex: default`,
    });
  });

  it('asks for the default tier once flex was refused, naming the refused attempt', () => {
    const refused = { attempt: 1, detail: 'no flex capacity' };
    expect(callServiceTier(flex, { tier: 'reasoning', offersFlex: true, refused })).toEqual({
      tier: 'default',
      reason: `${flex.reason}; but attempt 1 was refused flex (no flex capacity): default`,
    });
  });

  it('leaves a default choice alone', () => {
    const plain = { tier: 'default' as const, reason: 'the policy maps no latency budget to a service tier' };
    expect(callServiceTier(plain, { tier: 'reasoning', offersFlex: false, refused: null })).toBe(plain);
  });
});
