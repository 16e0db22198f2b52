import { type GatewayConfig, loadGatewayConfig } from '@deliberate/gateway/config';
import { createGatewayApp } from '@deliberate/gateway/create-gateway-app';
import {
  createGatewayApiKey,
  createGatewayTenant,
  gatewayHttp,
  type HttpResult,
  type ServiceUnderTest,
  startServiceUnderTest,
} from '@deliberate/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PrivatePostgres, startPrivatePostgres } from './support/chaos-infra';

// A real Postgres restart (fast shutdown: every backend is told 57P01, new connections are refused, then told the
// server is starting) under a steady stream of submissions: every answer is a 202 or a 503 with Retry-After, never a
// 500, and a client that retries its 503s with the same Idempotency-Key ends with exactly one task per key.

const ADMIN_KEY = 'postgres-restart-admin-0123456789';

describe('the gateway through a Postgres restart', () => {
  let dir: string;
  let postgres: PrivatePostgres;
  let gateway: ServiceUnderTest<GatewayConfig>;
  let key: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-pg-restart-'));
    postgres = await startPrivatePostgres(dir);
    gateway = await startServiceUnderTest('postgres_restart', {
      schema: 'gateway',
      config: (env) =>
        loadGatewayConfig({
          ...env,
          DATABASE_URL: postgres.url('gateway_restart'),
          LOG_LEVEL: 'warn',
          GATEWAY_ADMIN_API_KEY: ADMIN_KEY,
        }),
      create: createGatewayApp,
    });
    await createGatewayTenant(gateway.url, ADMIN_KEY, 'acme');
    key = await createGatewayApiKey(gateway.url, ADMIN_KEY, 'acme', 'submitter');
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers every submission 202 or 503 while Postgres restarts, and one task per Idempotency-Key', async () => {
    const answers: HttpResult<{ id?: string; message?: string }>[] = [];
    const ids = new Map<string, Set<string>>();
    let running = true;
    // Eight clients, each submitting one key until it is accepted, then the next key.
    const client = async (n: number) => {
      for (let k = 0; running; k += 1) {
        const idempotencyKey = `restart-${n}-${k}`;
        for (;;) {
          const answer = (await gatewayHttp(gateway.url, 'POST', '/v1/tasks', {
            key,
            body: { input: `task ${idempotencyKey}`, mode: 'fast' },
            headers: { 'idempotency-key': idempotencyKey },
          }).catch((e: Error) => ({
            status: 0,
            body: { message: e.message },
            headers: new Headers(),
          }))) as HttpResult<{
            id?: string;
            message?: string;
          }>;
          answers.push(answer);
          if (answer.status === 202) {
            ids.set(idempotencyKey, (ids.get(idempotencyKey) ?? new Set()).add(answer.body.id!));
            break;
          }
          if (!running && answer.status !== 503 && answer.status !== 409) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, n) => client(n));
    for (let i = 0; i < 3; i += 1) {
      await new Promise((r) => setTimeout(r, 1_500));
      await postgres.restart(2_000);
    }
    await new Promise((r) => setTimeout(r, 3_000));
    running = false;
    await Promise.all(clients);

    const unexpected = answers
      .filter((a) => ![202, 503, 409].includes(a.status))
      .map((a) => `${a.status}: ${JSON.stringify(a.body)}`);
    expect(unexpected).toEqual([]);
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    for (const [k, set] of ids) expect([k, set.size]).toEqual([k, 1]);
  }, 180_000);
});
