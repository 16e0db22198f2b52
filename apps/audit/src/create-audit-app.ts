import {
  installJsonBodyParser,
  installSecurityHeaders,
  refuseNonOriginTargets,
  refuseUnsafeRequestText,
} from '@deliberate/http';
import { JsonLogger } from '@deliberate/telemetry';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditModule } from './app.module';
import type { AuditConfig } from './config';

/** The audit service, initialised: schema migrated, signing key loaded, the sink consuming. Call `listen` to serve. */
export async function createAuditApp(config: AuditConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AuditModule.forRoot(config), {
    bodyParser: false,
    logger: new JsonLogger('audit', config.LOG_LEVEL),
  });
  // The same edge as the gateway's: headers, a plain request target, no NUL or lone surrogate anywhere.
  installSecurityHeaders(app);
  app.use(refuseNonOriginTargets);
  app.use(refuseUnsafeRequestText);
  // Every route is a GET; a body is refused rather than parsed.
  installJsonBodyParser(app, 1024);
  app.enableShutdownHooks();
  await app.init();
  return app;
}
