import { loadConfig, ConfigError } from '@deliberate/config';
import { llmConfigCheck, llmConfigSchema, modelTierConfigs } from './llm-config';

describe('llmConfigSchema', () => {
  it('points every tier at the local simulator by default', () => {
    expect(modelTierConfigs(loadConfig('test', llmConfigSchema, {}))).toEqual({
      fast: {
        baseUrl: 'http://127.0.0.1:4010/v1',
        apiKey: 'sim-key',
        model: 'sim-fast',
        timeoutMs: 600_000,
        maxRetries: 2,
        api: 'chat',
        background: false,
        poll: { firstMs: 1_000, factor: 2, maxMs: 30_000, concurrency: 64 },
      },
      reasoning: {
        baseUrl: 'http://127.0.0.1:4010/v1',
        apiKey: 'sim-key',
        model: 'sim-reasoner',
        timeoutMs: 600_000,
        maxRetries: 2,
        api: 'chat',
        background: false,
        poll: { firstMs: 1_000, factor: 2, maxMs: 30_000, concurrency: 64 },
      },
      standard: {
        baseUrl: 'http://127.0.0.1:4010/v1',
        apiKey: 'sim-key',
        model: 'sim-standard',
        timeoutMs: 600_000,
        maxRetries: 2,
        api: 'chat',
        background: false,
        poll: { firstMs: 1_000, factor: 2, maxMs: 30_000, concurrency: 64 },
      },
    });
  });

  it('configures each tier independently', () => {
    const tiers = modelTierConfigs(
      loadConfig('test', llmConfigSchema, {
        LLM_REASONING_BASE_URL: 'https://my-vllm.internal/v1',
        LLM_REASONING_API_KEY: 'token',
        LLM_REASONING_MODEL: 'deepseek-r1',
        LLM_REASONING_API: 'responses',
        LLM_TIMEOUT_MS: '1500',
        LLM_MAX_RETRIES: '0',
      }),
    );
    expect(tiers.reasoning).toEqual({
      baseUrl: 'https://my-vllm.internal/v1',
      apiKey: 'token',
      model: 'deepseek-r1',
      timeoutMs: 1_500,
      maxRetries: 0,
      api: 'responses',
      background: false,
      poll: { firstMs: 1_000, factor: 2, maxMs: 30_000, concurrency: 64 },
    });
    expect(tiers.fast.model).toBe('sim-fast');
    expect(tiers.fast.api).toBe('chat');
    expect(tiers.fast.timeoutMs).toBe(1_500);
  });

  it('rejects bad values, all at once', () => {
    let error: unknown;
    try {
      loadConfig('test', llmConfigSchema, {
        LLM_FAST_BASE_URL: 'ftp://x',
        LLM_MAX_RETRIES: '-1',
        LLM_STANDARD_MODEL: '',
        LLM_FAST_API: 'completions',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig('test', llmConfigSchema.check(llmConfigCheck), env);
      return [];
    } catch (e) {
      return [...(e as ConfigError).problems];
    }
  };

  it('turns background mode on per Responses tier, with the poll backoff shared', () => {
    const env = {
      LLM_REASONING_API: 'responses',
      LLM_REASONING_BACKGROUND: 'true',
      LLM_BACKGROUND_POLL_FIRST_MS: '50',
      LLM_BACKGROUND_POLL_FACTOR: '1.5',
      LLM_BACKGROUND_POLL_MAX_MS: '400',
      LLM_BACKGROUND_POLL_CONCURRENCY: '8',
    };
    expect(problemsOf(env)).toEqual([]);
    const tiers = modelTierConfigs(loadConfig('test', llmConfigSchema.check(llmConfigCheck), env));
    expect(tiers.reasoning).toMatchObject({
      api: 'responses',
      background: true,
      poll: { firstMs: 50, factor: 1.5, maxMs: 400, concurrency: 8 },
    });
    expect(tiers.standard.background).toBe(false);
  });

  it('refuses background mode off the Responses API, on the fast tier, and a cap below the first poll, with the other problems', () => {
    expect(
      problemsOf({
        LLM_REASONING_BACKGROUND: 'true',
        LLM_STANDARD_API: 'chat',
        LLM_STANDARD_BACKGROUND: 'yes',
        LLM_FAST_API: 'responses',
        LLM_FAST_BACKGROUND: 'true',
        LLM_BACKGROUND_POLL_FIRST_MS: '5000',
        LLM_BACKGROUND_POLL_MAX_MS: '1000',
        LLM_MAX_RETRIES: '-1',
      }),
    ).toEqual([
      'LLM_MAX_RETRIES: Too small: expected number to be >=0',
      'LLM_FAST_BACKGROUND: the fast tier (triage) answers in seconds and has no background mode: leave it false',
      'LLM_REASONING_BACKGROUND: background mode needs the Responses API: set LLM_REASONING_API=responses (it is chat)',
      'LLM_STANDARD_BACKGROUND: background mode needs the Responses API: set LLM_STANDARD_API=responses (it is chat)',
      'LLM_BACKGROUND_POLL_MAX_MS: must not be below LLM_BACKGROUND_POLL_FIRST_MS (5000)',
    ]);
  });
});
