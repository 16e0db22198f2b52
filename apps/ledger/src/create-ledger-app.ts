import { JsonLogger } from '@deliberate/telemetry';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { LedgerModule } from './app.module';
import { createLedgerCommandServer } from './commands/ledger-command.server';
import type { LedgerConfig } from './config';
import {
  installJsonBodyParser,
  installSecurityHeaders,
  refuseNonOriginTargets,
  refuseUnsafeRequestText,
} from '@deliberate/http';

/**
 * The ledger as a hybrid Nest app: the HTTP API, and the Kafka command server whose message patterns answer
 * reserve/settle/release. Returned initialised, with the command server and the usage consumer running;
 * call `listen` to serve HTTP.
 */
export async function createLedgerApp(config: LedgerConfig): Promise<INestApplication> {
  const app = await NestFactory.create(LedgerModule.forRoot(config), {
    bodyParser: false,
    logger: new JsonLogger('ledger', config.LOG_LEVEL),
  });
  // The same edge as the gateway's: headers, a plain request target, no NUL or lone surrogate anywhere.
  installSecurityHeaders(app);
  app.use(refuseNonOriginTargets);
  app.use(refuseUnsafeRequestText);
  installJsonBodyParser(app, config.LEDGER_MAX_BODY_BYTES);
  app.connectMicroservice({ strategy: createLedgerCommandServer(config) });
  app.enableShutdownHooks();
  // Topics, migrations, the producer and the usage consumer first; then the command server may subscribe.
  await app.init();
  await app.startAllMicroservices();
  return app;
}
