import { config, stopTelemetry } from './telemetry';
import { JsonLogger } from '@deliberate/telemetry';
import { simulatorOptionsFromConfig, SIMULATOR_SERVICE_NAME } from './config';
import { createSimulatorApp } from './simulator-app';

async function bootstrap(): Promise<void> {
  const logger = new JsonLogger(SIMULATOR_SERVICE_NAME, config.LOG_LEVEL);
  const options = simulatorOptionsFromConfig(config);
  const app = await createSimulatorApp(options, { logger, onShutdown: stopTelemetry });
  app.enableShutdownHooks();
  await app.listen(options.port, options.host);
  logger.log(
    {
      msg: 'model simulator listening',
      url: await app.getUrl(),
      models: options.models.map((m) => m.id),
      timeScale: options.timeScale,
      apiKeyRequired: options.apiKey !== undefined,
    },
    'Bootstrap',
  );
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
