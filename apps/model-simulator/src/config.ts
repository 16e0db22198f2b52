import { z } from 'zod';
import { envInt, envNumber, loadConfig, telemetryConfigSchema } from '@deliberate/config';
import { SIMULATOR_MODELS, simulatedModelsSchema, type SimulatedModel } from './simulator-models';

export const SIMULATOR_SERVICE_NAME = 'model-simulator';

// Everything the running simulator needs; createSimulatorApp takes it directly, so tests bypass the environment.
export interface SimulatorOptions {
  port: number;
  host: string;
  // Multiplies every simulated delay: 1 = real time, 0 = answer at once.
  timeScale: number;
  models: readonly SimulatedModel[];
  // When set, requests must carry `Authorization: Bearer <apiKey>`.
  apiKey: string | undefined;
  faultRate429: number;
  faultRate500: number;
  randomSeed: number;
  // Responses API objects held in memory for GET and cancel; when full, the one that ended longest ago is forgotten.
  maxStoredResponses: number;
}

export const DEFAULT_SIMULATOR_OPTIONS: SimulatorOptions = {
  port: 4010,
  host: '127.0.0.1',
  timeScale: 1,
  models: SIMULATOR_MODELS,
  apiKey: undefined,
  faultRate429: 0,
  faultRate500: 0,
  randomSeed: 1,
  maxStoredResponses: 20_000,
};

const modelsFromJson = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of models' });
      return z.NEVER;
    }
  })
  .pipe(simulatedModelsSchema)
  .optional();

export const simulatorConfigSchema = telemetryConfigSchema.extend({
  SIM_PORT: envInt(DEFAULT_SIMULATOR_OPTIONS.port, 0, 65_535),
  SIM_HOST: z.string().min(1).default(DEFAULT_SIMULATOR_OPTIONS.host),
  SIM_TIME_SCALE: envNumber(DEFAULT_SIMULATOR_OPTIONS.timeScale, 0, 1_000),
  SIM_MODELS: modelsFromJson,
  SIM_API_KEY: z.string().min(1).optional(),
  SIM_FAULT_RATE_429: envNumber(0, 0, 1),
  SIM_FAULT_RATE_500: envNumber(0, 0, 1),
  SIM_RANDOM_SEED: envInt(DEFAULT_SIMULATOR_OPTIONS.randomSeed, 0, 2 ** 32 - 1),
  SIM_MAX_STORED_RESPONSES: envInt(DEFAULT_SIMULATOR_OPTIONS.maxStoredResponses, 1, 1_000_000),
});
export type SimulatorConfig = z.infer<typeof simulatorConfigSchema>;

export function loadSimulatorConfig(env: Record<string, string | undefined> = process.env): SimulatorConfig {
  return loadConfig(SIMULATOR_SERVICE_NAME, simulatorConfigSchema, env);
}

export function simulatorOptionsFromConfig(config: SimulatorConfig): SimulatorOptions {
  return {
    port: config.SIM_PORT,
    host: config.SIM_HOST,
    timeScale: config.SIM_TIME_SCALE,
    models: config.SIM_MODELS ?? SIMULATOR_MODELS,
    apiKey: config.SIM_API_KEY,
    faultRate429: config.SIM_FAULT_RATE_429,
    faultRate500: config.SIM_FAULT_RATE_500,
    randomSeed: config.SIM_RANDOM_SEED,
    maxStoredResponses: config.SIM_MAX_STORED_RESPONSES,
  };
}
