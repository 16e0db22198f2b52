import { AuditModule } from '@deliberate/audit/app.module';
import { loadAuditConfig } from '@deliberate/audit/config';
import { GatewayModule } from '@deliberate/gateway/app.module';
import { loadGatewayConfig } from '@deliberate/gateway/config';
import { routesWithoutAccessDecision } from '@deliberate/http';
import { LedgerModule } from '@deliberate/ledger/app.module';
import { loadLedgerConfig } from '@deliberate/ledger/config';
import { ReasonerModule } from '@deliberate/reasoner/app.module';
import { loadReasonerConfig } from '@deliberate/reasoner/config';
import { TriageModule } from '@deliberate/triage/app.module';
import { loadTriageConfig } from '@deliberate/triage/config';
import { WebhooksModule } from '@deliberate/webhooks/app.module';
import { loadWebhooksConfig } from '@deliberate/webhooks/config';
import type { DynamicModule, Type } from '@nestjs/common';
import { MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

// Every HTTP route of every service says who may call it (@Allow) or that anyone may (@Public): the guards refuse a
// route that says neither, and this names it before anyone calls it. (The model simulator stands in for an outside
// provider and keeps that provider's own key check.)

const env = { DATABASE_URL: 'postgres://x@127.0.0.1/x', KAFKA_BROKERS: 'x:1' };

/** The controllers a module mounts, its imported modules' included. */
function controllersOf(root: DynamicModule | Type): Type[] {
  const found = new Set<Type>();
  const seen = new Set<unknown>();
  const visit = (entry: unknown): void => {
    if (!entry || seen.has(entry) || entry instanceof Promise) return;
    seen.add(entry);
    const dynamic = typeof entry === 'object' && 'module' in entry ? (entry as DynamicModule) : undefined;
    const moduleClass = (dynamic?.module ?? entry) as Type;
    const metadata = (key: string) => (Reflect.getMetadata(key, moduleClass) ?? []) as unknown[];
    for (const controller of [...(dynamic?.controllers ?? []), ...metadata(MODULE_METADATA.CONTROLLERS)]) {
      found.add(controller as Type);
    }
    for (const imported of [...(dynamic?.imports ?? []), ...metadata(MODULE_METADATA.IMPORTS)])
      visit(imported);
  };
  visit(root);
  return [...found];
}

const services: Record<string, () => DynamicModule> = {
  gateway: () => GatewayModule.forRoot(loadGatewayConfig(env)),
  ledger: () => LedgerModule.forRoot(loadLedgerConfig(env)),
  webhooks: () =>
    WebhooksModule.forRoot(
      loadWebhooksConfig({ ...env, WEBHOOKS_SECRET_ENCRYPTION_KEY: randomBytes(32).toString('hex') }),
    ),
  audit: () =>
    AuditModule.forRoot(
      loadAuditConfig({
        ...env,
        AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519')
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      }),
    ),
  triage: () => TriageModule.forRoot(loadTriageConfig(env)),
  reasoner: () => ReasonerModule.forRoot(loadReasonerConfig(env)),
};

describe('access decisions', () => {
  it('the gateway mounts its controllers where this test looks for them', () => {
    expect(controllersOf(services.gateway!()).length).toBeGreaterThan(5);
  });

  it.each(Object.keys(services))('every route of the %s carries @Allow or @Public', (service) => {
    const controllers = controllersOf(services[service]!());
    expect(controllers.some((c) => Reflect.getMetadata(PATH_METADATA, c) === 'health')).toBe(true);
    expect(routesWithoutAccessDecision(controllers)).toEqual([]);
  });
});
