// Two tiers: `unit` (*.spec.ts, no I/O) and `integration` (*.int-spec.ts, real Kafka and Postgres).
// Tests run from TypeScript sources; @deliberate/* resolves to each library's src, so no build is needed first.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@deliberate/(gateway|triage|model-simulator|ledger|reasoner|webhooks|audit|cli)/(.*)$':
      '<rootDir>/apps/$1/src/$2',
    '^@deliberate/e2e/(.*)$': '<rootDir>/apps/e2e/test/$1',
    '^@deliberate/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
  },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/.local/'],
};
const integration = {
  ...shared,
  testMatch: ['<rootDir>/{apps,libs}/*/test/**/*.int-spec.ts'],
  setupFiles: ['<rootDir>/tools/jest/integration-setup.ts'],
  // Service logs are printed for failing tests only (TEST_LOGS=all prints every log as it is written).
  testEnvironment: '<rootDir>/tools/jest/quiet-logs-environment.ts',
  slowTestThreshold: 30,
};
// Suites that load the machine, time faults or share a broker of their own: `npm test` runs them one after another,
// beside a runner that takes the rest (project `serial` here, `unit` and `integration` for the rest). Two load
// suites side by side on 2 cores starve each other's Kafka heartbeats; the SASL and cluster brokers are one each.
const SERIAL_SUITES = [
  'apps/e2e/test/chaos.int-spec.ts',
  'apps/reasoner/test/reasoner-load.int-spec.ts',
  'apps/ledger/test/reservations-under-load.int-spec.ts',
  'apps/webhooks/test/webhooks-replicas.int-spec.ts',
  'libs/kafka/test/replicated-cluster.int-spec.ts',
  'libs/kafka/test/sasl-broker.int-spec.ts',
  'apps/e2e/test/sasl-stack.int-spec.ts',
  // Not load suites, but long ones: they run here so that both runners end at about the same time.
  'apps/e2e/test/cli.int-spec.ts',
  'apps/e2e/test/task-lifecycle.int-spec.ts',
  'apps/audit/test/auditor-api.int-spec.ts',
  'apps/ledger/test/aborted-calls.int-spec.ts',
  // Measured on the 2-core machine (.local/jest-results-*.json): the other runner took 1,663 s to this one's 987 s;
  // these ~400 s of it move here.
  'apps/e2e/test/observability.int-spec.ts',
  'apps/gateway/test/dependency-outage.int-spec.ts',
  'apps/console/test/console.int-spec.ts',
  'apps/gateway/test/tenant-policy.int-spec.ts',
  'apps/reasoner/test/reasoner-stalled-executor.int-spec.ts',
  'apps/reasoner/test/reasoner-shadow.int-spec.ts',
  // The next clean run still ended the other runner 5 min after this one (1,529 s to 1,208 s): ~170 s more.
  'apps/audit/test/audit-migrations.int-spec.ts',
  'apps/triage/test/triage-crash.int-spec.ts',
  'apps/e2e/test/gateway-postgres-restart.int-spec.ts',
  'apps/reasoner/test/reasoner-fairness.int-spec.ts',
];
module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      setupFiles: ['<rootDir>/tools/jest/unit-setup.ts'],
      // apps/e2e may see every app: checks over all services' code (no I/O) sit there as unit specs.
      // bench/**/*.spec.ts: the pure parts of the benchmarks' shared code (bench/lib).
      testMatch: [
        '<rootDir>/{apps,libs}/*/src/**/*.spec.ts',
        '<rootDir>/apps/e2e/test/**/*.spec.ts',
        '<rootDir>/bench/**/*.spec.ts',
      ],
    },
    {
      ...integration,
      displayName: 'integration',
      testPathIgnorePatterns: ['/node_modules/', ...SERIAL_SUITES],
    },
    {
      ...integration,
      displayName: 'serial',
      testMatch: SERIAL_SUITES.map((suite) => `<rootDir>/${suite}`),
    },
  ],
  // A global option (ignored inside a project): integration tests wait on real brokers and model calls.
  testTimeout: 120000,
};
