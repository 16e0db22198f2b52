import { proxyTestDatabase, type TcpProxy } from '@deliberate/testing';
import { type LedgerHarness, ledgerHttp, startLedger, tenantAdmin } from './ledger-harness';

// The ledger's HTTP API while its Postgres is unreachable: 503 with Retry-After naming the database, as every
// service's problem filter answers it, never 500; the same request succeeds once the database is back.

let postgres: TcpProxy;
let h: LedgerHarness;

beforeAll(async () => {
  postgres = await proxyTestDatabase();
  h = await startLedger('http_db_outage', { databaseProxy: postgres });
});

afterAll(async () => {
  postgres?.restore();
  await h?.close();
  await postgres?.close();
});

it('answers 503 with Retry-After naming Postgres while its database is cut, and 200 once it is back', async () => {
  const spend = () =>
    ledgerHttp<{ dependency?: string; message?: string }>(h, 'GET', '/v1/ledger/spend', {
      principal: tenantAdmin('acme'),
    });
  expect((await spend()).status).toBe(200);

  postgres.cut();
  const during = await spend();
  expect({ status: during.status, dependency: during.body.dependency }).toEqual({
    status: 503,
    dependency: 'postgres',
  });
  expect(Number(during.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(during.body.message).toMatch(/database/);

  postgres.restore();
  expect((await spend()).status).toBe(200);
});
