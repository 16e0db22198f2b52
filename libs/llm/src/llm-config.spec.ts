import { loadConfig, ConfigError } from '@deliberate/config';
import { llmConfigSchema, modelTierConfigs } from './llm-config';

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
      },
      reasoning: {
        baseUrl: 'http://127.0.0.1:4010/v1',
        apiKey: 'sim-key',
        model: 'sim-reasoner',
        timeoutMs: 600_000,
        maxRetries: 2,
        api: 'chat',
      },
      standard: {
        baseUrl: 'http://127.0.0.1:4010/v1',
        apiKey: 'sim-key',
        model: 'sim-standard',
        timeoutMs: 600_000,
        maxRetries: 2,
        api: 'chat',
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
});
