import './telemetry';
import { ConfigError } from '@deliberate/config';
import { Logger } from '@nestjs/common';
import { loadAuditConfig } from './config';
import { createAuditApp } from './create-audit-app';

async function main(): Promise<void> {
  const config = loadAuditConfig();
  const app = await createAuditApp(config);
  await app.listen(config.AUDIT_PORT, config.AUDIT_HOST);
  new Logger('audit').log({ msg: 'listening', url: await app.getUrl() });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
