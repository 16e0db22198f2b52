import './telemetry';
import { ConfigError } from '@deliberate/config';
import { Logger } from '@nestjs/common';
import { loadGatewayConfig } from './config';
import { createGatewayApp } from './create-gateway-app';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const app = await createGatewayApp(config);
  await app.listen(config.GATEWAY_PORT, config.GATEWAY_HOST);
  new Logger('gateway').log({ msg: 'listening', url: await app.getUrl() });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
