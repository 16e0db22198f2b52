import { ConfigError } from '@deliberate/config';
import { loadSimulatorConfig, simulatorOptionsFromConfig } from './config';
import { SIMULATOR_MODELS } from './simulator-models';

describe('simulator configuration', () => {
  it('defaults to the catalogue on 127.0.0.1:4010 in real time', () => {
    expect(simulatorOptionsFromConfig(loadSimulatorConfig({}))).toEqual({
      port: 4010,
      host: '127.0.0.1',
      timeScale: 1,
      models: SIMULATOR_MODELS,
      apiKey: undefined,
      faultRate429: 0,
      faultRate500: 0,
      randomSeed: 1,
      maxStoredResponses: 20_000,
    });
  });

  it('reads models from SIM_MODELS as JSON', () => {
    const custom = [{ ...SIMULATOR_MODELS[0], id: 'my-fast' }];
    const options = simulatorOptionsFromConfig(
      loadSimulatorConfig({
        SIM_MODELS: JSON.stringify(custom),
        SIM_TIME_SCALE: '0',
        SIM_API_KEY: 'k',
        SIM_MAX_STORED_RESPONSES: '500',
      }),
    );
    expect(options.maxStoredResponses).toBe(500);
    expect(options.models.map((m) => m.id)).toEqual(['my-fast']);
    expect(options.timeScale).toBe(0);
    expect(options.apiKey).toBe('k');
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadSimulatorConfig({
        SIM_PORT: 'x',
        SIM_FAULT_RATE_429: '2',
        SIM_MODELS: '{not json',
        SIM_MAX_STORED_RESPONSES: '0',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('SIM_PORT');
    expect(problems).toContain('SIM_FAULT_RATE_429');
    expect(problems).toContain('SIM_MODELS: must be a JSON array of models');
    expect(problems).toContain('SIM_MAX_STORED_RESPONSES');
  });
});
