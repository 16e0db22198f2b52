import { ConfigError } from '@deliberate/config';
import { loadReasonerConfig } from './config';

describe('loadReasonerConfig', () => {
  it('has defaults for everything and a unique instance id per start', () => {
    const a = loadReasonerConfig({});
    const b = loadReasonerConfig({});
    expect(a).toMatchObject({
      REASONER_HEALTH_PORT: 3003,
      REASONER_CONCURRENCY: 500,
      REASONER_QUEUE_CAPACITY: 5_000,
      REASONER_LEASE_MS: 30_000,
      REASONER_MAX_CRASH_RETRIES: 2,
      REASONER_DEFAULT_MAX_THINKING_TOKENS: 32_000,
      REASONER_MAX_THINKING_TOKENS_CEILING: 128_000,
      REASONER_DEFAULT_DEADLINE_MS: 600_000,
      REASONER_MODEL_MAX_RETRIES: 3,
      REASONER_BREAKER_FAILURES: 5,
      REASONER_BREAKER_COOLDOWN_MS: 30_000,
    });
    expect(a.REASONER_INSTANCE_ID).not.toBe(b.REASONER_INSTANCE_ID);
    expect(loadReasonerConfig({ REASONER_INSTANCE_ID: 'r-1' }).REASONER_INSTANCE_ID).toBe('r-1');
  });

  it('lists every bad variable at once', () => {
    try {
      loadReasonerConfig({
        REASONER_CONCURRENCY: '0',
        REASONER_LEASE_MS: '5',
      });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      expect(problems).toContain('REASONER_CONCURRENCY');
      expect(problems).toContain('REASONER_LEASE_MS');
    }
  });

  it('refuses background mode on a tier that is not on the Responses API, with the other problems', () => {
    try {
      loadReasonerConfig({ REASONER_CONCURRENCY: '0', LLM_REASONING_BACKGROUND: 'true' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      expect(problems).toContain('REASONER_CONCURRENCY');
      expect(problems).toContain('LLM_REASONING_BACKGROUND: background mode needs the Responses API');
    }
    expect(
      loadReasonerConfig({ LLM_REASONING_API: 'responses', LLM_REASONING_BACKGROUND: 'true' })
        .LLM_REASONING_BACKGROUND,
    ).toBe(true);
  });
});
