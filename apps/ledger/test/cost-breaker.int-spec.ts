jest.setTimeout(120_000);

import { budgetBreakerClosedEvent, budgetBreakerOpenedEvent } from '@deliberate/contracts';
import { KafkaModule } from '@deliberate/kafka';
import { BreakerStateCache, LedgerClient, LedgerClientModule } from '@deliberate/ledger-client';
import { header, pollUntil, scrapeMetrics, TEST_KAFKA_BROKERS } from '@deliberate/testing';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import {
  json,
  type LedgerHarness,
  putBudget,
  readTopic,
  setTenantPolicy,
  startLedger,
  usage,
} from './ledger-harness';

// The cost circuit breaker trips on a runaway loop, refuses reservations while open, closes after its cool-down
// once spending is quiet — and a caller's BreakerStateCache follows both transitions from the events.

const COOLDOWN_MS = 1_500;

let h: LedgerHarness;
let caller: INestApplicationContext;

beforeAll(async () => {
  h = await startLedger('breaker', { env: { LEDGER_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS) } });

  // A calling service as it would wire the client: its own KafkaModule, then LedgerClientModule with the cache.
  @Module({
    imports: [
      KafkaModule.forRoot({
        serviceName: 'breaker-caller',
        brokers: TEST_KAFKA_BROKERS,
        topicPrefix: h.prefix,
        createTopics: true,
        replicationFactor: 1,
        handlerMaxAttempts: 3,
        topics: [],
      }),
      LedgerClientModule.forRoot({
        brokers: TEST_KAFKA_BROKERS,
        clientId: 'breaker-caller',
        topicPrefix: h.prefix,
        timeoutMs: 10_000,
        breakerStateCache: true,
      }),
    ],
  })
  class CallerModule {}
  caller = await NestFactory.createApplicationContext(CallerModule, { logger: ['warn', 'error'] });
  caller.enableShutdownHooks();
});

afterAll(async () => {
  await caller?.close();
  await h?.close();
});

const eventsFor = async (topic: string, tenantId: string) =>
  (await readTopic(h.topic(topic))).filter((m) => header(m, 'ce_tenantid') === tenantId).map(json);

it('opens on a runaway loop, denies while open, and closes after the cool-down once spending is quiet', async () => {
  const tenantId = 'runaway';
  const cache = caller.get(BreakerStateCache);
  const client = caller.get(LedgerClient);
  // At most 0.01 USD per 2 s; 20 calls of 800 micro-USD (100 sim-reasoner output tokens) in a burst spend 0.016.
  // The tenant's policy, not the budget, says what a denial asks callers to do.
  await setTenantPolicy(h, tenantId, { onBudgetDenied: 'route_cheap' });
  await putBudget(h, tenantId, { breakerWindowSeconds: 2, breakerMaxSpendUsd: 0.01 });
  const reserve = (tier: 'fast' | 'reasoning' | null = null) =>
    client.reserve({
      tenantId,
      taskId: randomUUID(),
      model: 'sim-fast',
      tier,
      estimatedInputTokens: 10,
      maxOutputTokens: 10,
    });
  expect(await reserve()).toMatchObject({ approved: true });
  expect(cache.state(tenantId)).toEqual({ open: false, policy: null, reason: null, retryAt: null });

  await Promise.all(
    Array.from({ length: 20 }, () =>
      h.publishUsage({ tenantId, model: 'sim-reasoner', usage: usage(0, 100), purpose: 'reason' }),
    ),
  );

  const [opened] = await pollUntil(
    () => eventsFor(budgetBreakerOpenedEvent.topic, tenantId),
    (e) => e.length > 0,
    { timeoutMs: 20_000, what: 'budget.breaker.opened.v1' },
  );
  expect(opened).toMatchObject({ reason: 'spend_rate', policy: 'route_cheap', windowSeconds: 2 });
  expect(opened!['windowSpendMicroUsd']).toBeGreaterThan(10_000);

  const denied = await reserve();
  expect(denied).toMatchObject({ approved: false, reason: 'breaker_open', policy: 'route_cheap' });
  expect(await reserve('reasoning')).toMatchObject({ approved: false, reason: 'breaker_open' });
  // The tenant's route_cheap policy keeps the cheap tier running while the breaker is open.
  expect(await reserve('fast')).toMatchObject({ approved: true });
  await setTenantPolicy(h, tenantId, { onBudgetDenied: 'fail' });
  expect(await reserve('fast')).toMatchObject({ approved: false, reason: 'breaker_open', policy: 'fail' });
  await setTenantPolicy(h, tenantId, { onBudgetDenied: 'route_cheap' });
  await pollUntil(
    () => Promise.resolve(cache.state(tenantId)),
    (s) => s.open,
    { what: 'the cache to see the breaker open' },
  );
  expect(cache.state(tenantId)).toEqual({
    open: true,
    policy: 'route_cheap',
    reason: 'spend_rate',
    retryAt: opened!['retryAt'],
  });
  const breakerOpen = async () =>
    (await scrapeMetrics(h.url)).find('deliberate_ledger_breaker_open', { deliberate_tenant_id: tenantId });
  expect((await breakerOpen()).map((sample) => sample.value)).toEqual([1]);

  // Quiet from here: after the cool-down the sweeper finds the window below the rate and closes it.
  await pollUntil(
    () => eventsFor(budgetBreakerClosedEvent.topic, tenantId),
    (e) => e.length > 0,
    { timeoutMs: 20_000, what: 'budget.breaker.closed.v1' },
  );
  await pollUntil(
    () => Promise.resolve(cache.state(tenantId)),
    (s) => !s.open,
    { what: 'the cache to see the breaker closed' },
  );
  expect(await reserve()).toMatchObject({ approved: true });
  expect((await breakerOpen()).map((sample) => sample.value)).toEqual([0]);
  // Each transition is published once, however many bookings saw the rate passed.
  expect(await eventsFor(budgetBreakerOpenedEvent.topic, tenantId)).toHaveLength(1);
  expect(await eventsFor(budgetBreakerClosedEvent.topic, tenantId)).toHaveLength(1);
});

it('opens when a hard budget is spent, with the budget as the reason', async () => {
  const tenantId = 'spent-out';
  await putBudget(h, tenantId, { dailyLimitUsd: 0.001 });
  await h.publishUsage({ tenantId, model: 'sim-reasoner', usage: usage(0, 200) }); // 1,600 micro-USD
  const [opened] = await pollUntil(
    () => eventsFor(budgetBreakerOpenedEvent.topic, tenantId),
    (e) => e.length > 0,
    { timeoutMs: 20_000, what: 'budget.breaker.opened.v1' },
  );
  expect(opened).toMatchObject({ reason: 'budget_exhausted', policy: 'fail' });
  expect(
    await caller.get(LedgerClient).reserve({
      tenantId,
      taskId: randomUUID(),
      model: 'sim-fast',
      estimatedInputTokens: 1,
      maxOutputTokens: 1,
    }),
  ).toMatchObject({ approved: false, reason: 'breaker_open', policy: 'fail' });
});
