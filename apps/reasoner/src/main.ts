import './telemetry';
import { ConfigError } from '@deliberate/config';
import { Logger } from '@nestjs/common';
import { loadReasonerConfig } from './config';
import { createReasonerApp } from './create-reasoner-app';

async function main(): Promise<void> {
  const config = loadReasonerConfig();
  const app = await createReasonerApp(config);
  // The HTTP port serves only /health: pool and consumer state for supervisors and the local stack script.
  await app.listen(config.REASONER_HEALTH_PORT, config.REASONER_HOST);
  new Logger('reasoner').log({ msg: 'reasoning', health: await app.getUrl() });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
