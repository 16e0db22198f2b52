import './telemetry';
import { ConfigError } from '@deliberate/config';
import { Logger } from '@nestjs/common';
import { loadTriageConfig } from './config';
import { createTriageApp } from './create-triage-app';

async function main(): Promise<void> {
  const config = loadTriageConfig();
  const app = await createTriageApp(config);
  // The HTTP port serves only /health, for supervisors and the local stack script.
  await app.listen(config.TRIAGE_HEALTH_PORT, config.TRIAGE_HOST);
  new Logger('triage').log({ msg: 'triaging', health: await app.getUrl() });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
