import './telemetry';
import { ConfigError } from '@deliberate/config';
import { Logger } from '@nestjs/common';
import { loadLedgerConfig } from './config';
import { createLedgerApp } from './create-ledger-app';

async function main(): Promise<void> {
  const config = loadLedgerConfig();
  const app = await createLedgerApp(config);
  await app.listen(config.LEDGER_PORT, config.LEDGER_HOST);
  new Logger('ledger').log({ msg: 'listening', url: await app.getUrl() });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
