import 'reflect-metadata';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { DEFAULT_SIMULATOR_OPTIONS, type SimulatorOptions } from './config';
import { SimulatorModule } from './simulator.module';

// Prompts with large context documents are legitimate; OpenAI itself accepts bodies far beyond express's 100 kB.
export const BODY_LIMIT = '20mb';

export interface SimulatorAppExtras {
  /** Nest's logger; false (the default) keeps tests quiet. */
  logger?: LoggerService | false;
  /** Runs on application shutdown, after the HTTP server closed (main.ts flushes telemetry here). */
  onShutdown?: () => Promise<void>;
}

/** Builds the simulator's Nest application without listening; missing options take the defaults. */
export async function createSimulatorApp(
  options: Partial<SimulatorOptions> = {},
  { logger = false, onShutdown }: SimulatorAppExtras = {},
): Promise<NestExpressApplication> {
  const resolved: SimulatorOptions = { ...DEFAULT_SIMULATOR_OPTIONS, ...options };
  const app = await NestFactory.create<NestExpressApplication>(
    SimulatorModule.forRoot(resolved, onShutdown),
    new ExpressAdapter(),
    {
      logger,
      bodyParser: false,
      // Hanging calls would otherwise hold app.close() open until every client gives up.
      forceCloseConnections: true,
    },
  );
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.disable('x-powered-by');
  return app;
}

export interface RunningSimulator {
  app: INestApplication;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The URL to give the openai SDK as baseURL: `${url}/v1`. */
  baseURL: string;
  close(): Promise<void>;
}

/** Starts a simulator in-process, by default on 127.0.0.1 and a free port with no simulated delay (time scale 0). */
export async function startSimulator(
  options: Partial<SimulatorOptions> = {},
  extras: SimulatorAppExtras = {},
): Promise<RunningSimulator> {
  const app = await createSimulatorApp({ port: 0, timeScale: 0, ...options }, extras);
  const host = options.host ?? DEFAULT_SIMULATOR_OPTIONS.host;
  await app.listen(options.port ?? 0, host);
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string')
    throw new Error('simulator is not listening on a TCP port');
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return { app, url, baseURL: `${url}/v1`, close: () => app.close() };
}
