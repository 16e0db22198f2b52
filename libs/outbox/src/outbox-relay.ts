import type { EventDefinition } from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { PeriodicJob, Sql as SqlPort } from '@deliberate/persistence';
import { JobRunMetrics, observeGauge, ServiceMetrics } from '@deliberate/metrics';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import type { OutboxDeadHandler, OutboxMessage } from './outbox-message';
import {
  DEFAULT_STALE_AFTER_MS,
  DEFAULT_SWEEP_BATCH,
  OUTBOX_OPTIONS,
  type OutboxOptions,
} from './outbox.options';
import { OutboxRepository } from './outbox.repository';
import { PublishedMarks } from './published-marks';
import { planRelay, UnknownOutboxTopicError } from './relay-decision';

// Publishes outbox rows: at once after the commit that wrote them, and again from the sweep if that failed. Each row
// is sent on its own: one that can never be published is set aside as dead with its reason, and the rows behind it
// go out; one that failed for a passing reason (a broker outage) is retried by the sweep. A republish keeps the event id.
@Injectable()
export class OutboxRelay implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly definitions: ReadonlyMap<string, EventDefinition>;
  private readonly sweep: PeriodicJob | null;
  private readonly marks: PublishedMarks | null;
  private deadHandler: OutboxDeadHandler | null = null;
  // Rows this process is publishing after their commit, until they are marked: the sweep leaves them to that publish,
  // so a slow send (or a commit that came later than staleAfterMs after the insert) does not put the event out twice.
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly sql: SqlPort,
    private readonly outbox: OutboxRepository,
    private readonly publisher: EventPublisher,
    @Inject(OUTBOX_OPTIONS) private readonly options: OutboxOptions,
    @Optional() metrics?: ServiceMetrics,
    @Optional() runs?: JobRunMetrics,
  ) {
    this.definitions = new Map(options.events.map((e) => [e.topic, e]));
    if (metrics) {
      // Rows set aside as unpublishable wait for an operator: one is enough to look at.
      observeGauge(
        metrics.meter('deliberate.outbox'),
        'deliberate.outbox.dead_rows',
        { description: 'Outbox rows set aside because they can never be published', unit: '{row}' },
        async () => [[{}, await this.deadCount()]],
      );
    }
    const intervalMs = options.sweepIntervalMs;
    this.sweep = intervalMs
      ? new PeriodicJob({ name: 'outbox sweep', intervalMs, logger: this.logger, runs }, async () => {
          await this.relayStale(options.sweepBatch ?? DEFAULT_SWEEP_BATCH);
        })
      : null;
    this.marks = options.batchPublishedMarksMs
      ? new PublishedMarks(options.batchPublishedMarksMs, (ids) => this.outbox.markPublished(this.sql, ids))
      : null;
  }

  /** Called with the rows set aside as dead, on the connection that marks them; one handler per service. */
  onDead(handler: OutboxDeadHandler): void {
    this.deadHandler = handler;
  }

  onModuleInit(): void {
    this.sweep?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweep?.stop();
    await this.marks?.flush().catch(() => undefined);
  }

  /** After the commit: never throws, the sweep retries what failed. */
  async publish(messages: readonly OutboxMessage[]): Promise<void> {
    if (!messages.length) return;
    const ids = messages.map((m) => m.id);
    for (const id of ids) this.inFlight.add(id);
    let marked: Promise<unknown> = Promise.resolve();
    try {
      ({ marked } = await this.relay(this.sql, messages, 'after-commit'));
    } catch (e) {
      this.logger.warn({ msg: 'outbox publish failed; the sweep will retry', error: (e as Error).message });
    } finally {
      void marked.finally(() => {
        for (const id of ids) this.inFlight.delete(id);
      });
    }
  }

  /** Publishes pending rows the commit's own publish missed; returns how many were published. */
  async relayStale(limit: number): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const stale = await this.outbox.claimStale(
        tx,
        this.options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
        limit,
      );
      const { published } = await this.relay(
        tx,
        stale.filter((m) => !this.inFlight.has(m.id)),
        'sweep',
      );
      return published;
    });
  }

  /** Rows set aside as dead, for /health. */
  deadCount(): Promise<number> {
    return this.outbox.countDead(this.sql);
  }

  private async relay(
    sql: SqlPort,
    messages: readonly OutboxMessage[],
    from: 'after-commit' | 'sweep',
  ): Promise<{ published: number; marked: Promise<unknown> }> {
    let marked: Promise<unknown> = Promise.resolve();
    if (!messages.length) return { published: 0, marked };
    const outcomes = await Promise.allSettled(messages.map((m) => this.send(m)));
    const plan = planRelay(
      messages.map((m) => m.id),
      outcomes,
    );
    if (from === 'after-commit' && this.marks) {
      marked = this.marks.mark(plan.published).catch((e: unknown) =>
        this.logger.warn({
          msg: 'outbox rows not marked published; the sweep will publish them again',
          error: (e as Error).message,
        }),
      );
    } else {
      await this.outbox.markPublished(sql, plan.published);
    }
    if (plan.dead.length) {
      const dead = plan.dead.map((d) => ({
        message: messages.find((m) => m.id === d.id)!,
        reason: d.reason,
      }));
      // The mark and the service's handler commit together: a handler that fails leaves the rows to the next sweep.
      const setAside = async (tx: SqlPort) => {
        await this.outbox.markDead(tx, plan.dead);
        await this.deadHandler?.(tx, dead);
      };
      await (from === 'sweep' ? setAside(sql) : this.sql.transaction(setAside));
    }
    for (const dead of plan.dead) {
      const message = messages.find((m) => m.id === dead.id);
      this.logger.error({
        msg: 'outbox row can never be published; set aside as dead',
        id: dead.id,
        topic: message?.topic,
        tenantId: message?.tenantId,
        reason: dead.reason,
      });
    }
    if (plan.retry.length) {
      this.logger.warn({
        msg: 'outbox rows not published; the sweep will retry',
        count: plan.retry.length,
        error: plan.retry[0]!.error,
      });
    }
    return { published: plan.published.length, marked };
  }

  private async send(message: OutboxMessage): Promise<void> {
    const definition = this.definitions.get(message.topic);
    if (!definition) throw new UnknownOutboxTopicError(message.topic);
    await this.publisher.publish(definition, {
      id: message.id,
      tenantId: message.tenantId,
      taskId: message.taskId,
      data: message.payload,
    });
  }
}
