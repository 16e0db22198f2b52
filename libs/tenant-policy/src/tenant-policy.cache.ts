import { type TenantPolicy, tenantPolicyUpdatedEvent } from '@deliberate/contracts';
import { handle, KafkaLifecycle, provisionTopics } from '@deliberate/kafka';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { CatchUp, type PartitionRange } from './catch-up';
import { TenantPolicyBook, type VersionedTenantPolicy } from './tenant-policy-book';

const POLL_MS = 250;
const LOG_LAG_EVERY_MS = 10_000;

/** A read before the cache had caught up: the answer could be the default policy of a tenant that set one. */
export class TenantPolicyCacheNotReadyError extends Error {
  constructor() {
    super('the tenant policy cache has not yet read tenants.policy.updated.v1 up to its end');
    this.name = 'TenantPolicyCacheNotReadyError';
  }
}

// Every process's own copy of the tenants' policies, read from the compacted tenants.policy.updated.v1 with a group
// of its own from the beginning, so a restart rebuilds it. It catches up in onModuleInit: Nest runs every
// onModuleInit (KafkaModule's first, being global) before any onApplicationBootstrap, where consumers start, and
// before the HTTP server listens, so no task is decided on the default policy of a tenant whose policy was not yet read.
@Injectable()
export class TenantPolicyCache implements OnModuleInit {
  private readonly logger = new Logger(TenantPolicyCache.name);
  private readonly book = new TenantPolicyBook();
  private started: Promise<void> | null = null;
  private caughtUp = false;

  constructor(private readonly kafka: KafkaLifecycle) {}

  async onModuleInit(): Promise<void> {
    await this.ready();
  }

  /** Resolves once every policy set before the start has been read; starts the reader on the first call. */
  ready(): Promise<void> {
    this.started ??= this.start();
    return this.started;
  }

  get isReady(): boolean {
    return this.caughtUp;
  }

  /** The tenant's policy, or DEFAULT_TENANT_POLICY if it never set one. Throws before the cache is ready. */
  policyOf(tenantId: string): TenantPolicy {
    return this.current(tenantId).policy;
  }

  /** The version of the tenant's policy; 0 for the default policy. Throws before the cache is ready. */
  versionOf(tenantId: string): number {
    return this.current(tenantId).version;
  }

  /** The policy and its version, read together. Throws before the cache is ready. */
  current(tenantId: string): VersionedTenantPolicy {
    if (!this.caughtUp) throw new TenantPolicyCacheNotReadyError();
    return this.book.current(tenantId);
  }

  private async start(): Promise<void> {
    const client = this.kafka.client;
    await provisionTopics(client, [tenantPolicyUpdatedEvent]);
    const topic = client.topic(tenantPolicyUpdatedEvent.topic);
    const catchUp = new CatchUp(await this.partitionRanges(topic));
    const group = `${client.options.serviceName}.tenant-policies.${randomBytes(4).toString('hex')}`;
    await this.kafka.startConsumer({
      group,
      ephemeralGroup: true,
      handlers: [
        handle(tenantPolicyUpdatedEvent, (event, meta) => {
          const applied = this.book.apply(event.tenantId, event.data.version, event.data.policy);
          if (!applied)
            this.logger.log({
              msg: 'an older policy version ignored',
              tenantId: event.tenantId,
              version: event.data.version,
              current: this.book.versionOf(event.tenantId),
            });
          catchUp.advance(meta.partition, Number(meta.offset) + 1);
          return Promise.resolve();
        }),
      ],
    });
    await this.waitForCatchUp(catchUp, group, topic);
    this.caughtUp = true;
    this.logger.log({ msg: 'tenant policies read', tenants: this.book.tenants });
  }

  // A topic created a moment ago may have no leader yet, and a broker may be restarting: both are waited for.
  private async partitionRanges(topic: string): Promise<PartitionRange[]> {
    for (let attempt = 1; ; attempt += 1) {
      const admin = this.kafka.client.kafka.admin();
      try {
        await admin.connect();
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.map((o) => ({
          partition: o.partition,
          startOffset: Number(o.low),
          endOffset: Number(o.high),
        }));
      } catch (e) {
        if (!(e as { retriable?: boolean }).retriable) throw e;
        if (attempt % 20 === 0)
          this.logger.warn({ msg: 'still waiting for the end offsets', topic, error: (e as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * attempt)));
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
  }

  // The handler moves the positions; a message that could not be decoded never reaches it (it is dead-lettered),
  // so the group's committed offsets, which pass it, are read too. A broker that does not answer is waited for.
  private async waitForCatchUp(catchUp: CatchUp, group: string, topic: string): Promise<void> {
    const admin = this.kafka.client.kafka.admin();
    let lastLogMs = Date.now();
    try {
      await admin.connect();
      while (!catchUp.done) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        if (catchUp.done) break;
        try {
          const [committed] = await admin.fetchOffsets({
            groupId: this.kafka.client.groupId(group),
            topics: [topic],
          });
          for (const p of committed?.partitions ?? []) {
            if (Number(p.offset) >= 0) catchUp.advance(p.partition, Number(p.offset));
          }
        } catch (e) {
          this.logger.warn({ msg: 'could not read the committed offsets', error: (e as Error).message });
        }
        if (Date.now() - lastLogMs >= LOG_LAG_EVERY_MS) {
          lastLogMs = Date.now();
          this.logger.warn({ msg: 'still reading the tenant policies', behind: catchUp.behind() });
        }
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
