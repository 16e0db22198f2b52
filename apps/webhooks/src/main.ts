import './telemetry';
import { ConfigError } from '@deliberate/config';
import { Logger } from '@nestjs/common';
import { loadWebhooksConfig } from './config';
import { createWebhooksApp } from './create-webhooks-app';

async function main(): Promise<void> {
  const config = loadWebhooksConfig();
  const app = await createWebhooksApp(config);
  await app.listen(config.WEBHOOKS_PORT, config.WEBHOOKS_HOST);
  new Logger('webhooks').log({ msg: 'listening', url: await app.getUrl() });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
