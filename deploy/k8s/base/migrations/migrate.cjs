// Runs one service's database migrations, then exits: `node migrate.cjs <service>` from the image's /app.
// There is no migrate-only switch in the services; this calls the code they run at start (openDataSource in
// libs/persistence, under the same advisory lock) with the migration list their own module declares, so nothing is
// listed twice. The audit service's own prepareAuditSchema migrates as the schema owner and grants the writer role.
'use strict';
const { createRequire } = require('node:module');
const { join } = require('node:path');

const fromApp = createRequire(join(process.cwd(), 'package.json'));
const service = process.argv[2];
const modules = {
  gateway: ['GatewayModule', 'loadGatewayConfig'],
  triage: ['TriageModule', 'loadTriageConfig'],
  reasoner: ['ReasonerModule', 'loadReasonerConfig'],
  ledger: ['LedgerModule', 'loadLedgerConfig'],
  webhooks: ['WebhooksModule', 'loadWebhooksConfig'],
};

// The options given to PersistenceModule.forRoot, found among the imports of the service's root module.
function persistenceOptions(root) {
  for (const imported of root.imports ?? []) {
    if (imported?.module?.name !== 'PersistenceModule') continue;
    const provider = (imported.providers ?? []).find((p) => p?.useValue?.migrations && p.useValue.schema);
    if (provider) return provider.useValue;
  }
  throw new Error(`${service}: its module imports no PersistenceModule.forRoot; cannot find its migrations`);
}

async function main() {
  if (service === 'audit') {
    const { loadAuditConfig } = fromApp('./apps/audit/dist/config.js');
    const { prepareAuditSchema } = fromApp('./apps/audit/dist/persistence/audit-database.js');
    await prepareAuditSchema(loadAuditConfig());
    return;
  }
  const names = modules[service];
  if (!names) throw new Error(`usage: node migrate.cjs <${[...Object.keys(modules), 'audit'].join('|')}>`);
  const [moduleName, loaderName] = names;
  const config = fromApp(`./apps/${service}/dist/config.js`)[loaderName]();
  const root = fromApp(`./apps/${service}/dist/app.module.js`)[moduleName].forRoot(config);
  const options = persistenceOptions(root);
  const { openDataSource } = fromApp('@deliberate/persistence');
  // One connection holds the migration lock while another runs the migrations.
  const dataSource = await openDataSource({ ...options, poolSize: Math.max(2, Math.min(options.poolSize, 4)) });
  await dataSource.destroy();
}

main().then(
  () => {
    process.stdout.write(`${JSON.stringify({ msg: 'migrated', service })}\n`);
    process.exit(0);
  },
  (e) => {
    process.stderr.write(`${e?.name === 'ConfigError' ? e.message : (e?.stack ?? String(e))}\n`);
    process.exit(1);
  },
);
