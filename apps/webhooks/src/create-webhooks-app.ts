import {
  installJsonBodyParser,
  installSecurityHeaders,
  refuseNonOriginTargets,
  refuseUnsafeRequestText,
} from '@deliberate/http';
import { JsonLogger } from '@deliberate/telemetry';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type WebhooksModuleOptions, WebhooksModule } from './app.module';
import type { WebhooksConfig } from './config';

/**
 * The webhooks service: its HTTP API (endpoints, task secret, delivery log, replay), the consumer of task events
 * and the dispatcher. Returned initialised, with the consumer and the dispatcher running; call `listen` to serve HTTP.
 */
export async function createWebhooksApp(
  config: WebhooksConfig,
  options: WebhooksModuleOptions = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(WebhooksModule.forRoot(config, options), {
    bodyParser: false,
    logger: new JsonLogger('webhooks', config.LOG_LEVEL),
  });
  // The same edge as the gateway's: headers, a plain request target, no NUL or lone surrogate anywhere.
  installSecurityHeaders(app);
  app.use(refuseNonOriginTargets);
  app.use(refuseUnsafeRequestText);
  installJsonBodyParser(app, config.WEBHOOKS_MAX_BODY_BYTES);
  app.enableShutdownHooks();
  await app.init();
  return app;
}
