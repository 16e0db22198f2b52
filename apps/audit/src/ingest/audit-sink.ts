import type { EventEnvelope } from '@deliberate/contracts';
import { type DecodedEvent, type EventConsumer, KafkaLifecycle } from '@deliberate/kafka';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { canonicalJson } from '@deliberate/audit-chain';
import { type PreparedRecord, RecordAppender } from '../chain/record-appender';
import { AUDIT_CONFIG, type AuditConfig } from '../config';
import { AuditMetrics } from '../metrics/audit-metrics';
import { Sql } from '@deliberate/persistence';
import { RecordPrivacy } from '../privacy/record-privacy';
import { AUDITED_EVENTS } from './audited-events';
import { GroupCommit, shardByTenant } from './group-commit';
import { recordColumns } from './record-columns';

// How much stored text is prepared (redacted, encrypted, serialised) before the event loop gets a turn.
const PREPARE_SLICE_CHARS = 256 * 1024;

// Consumes every audited topic a partition batch at a time and appends the batches to the tenants' chains. Batches
// of partitions consumed at once are written together (group commit): one transaction holds the chain heads of
// all the tenants it touches, so separate transactions would only queue behind each other's locks. Offsets commit
// after the transaction, so a crash replays the batch; replayed events are recognised by their id and stored once.
@Injectable()
export class AuditSink implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly writer: GroupCommit<PreparedRecord>;
  private consumer: EventConsumer | null = null;

  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly sql: Sql,
    private readonly appender: RecordAppender,
    private readonly privacy: RecordPrivacy,
    private readonly metrics: AuditMetrics,
    @Inject(AUDIT_CONFIG) private readonly config: AuditConfig,
  ) {
    this.writer = new GroupCommit(async (records) => {
      // A failed shard fails the whole batch, which Kafka redelivers; what the other shards stored is recognised by
      // event id and not stored twice (nor measured twice: only what a commit appended is).
      const shards = shardByTenant(records, config.AUDIT_WRITE_SHARDS);
      await Promise.all(
        shards.map(async (shard) => {
          const appended = await this.sql.transaction((tx) => this.appender.append(tx, shard));
          this.metrics.stored(appended, Date.now());
        }),
      );
    }, config.AUDIT_BATCH_SIZE);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await this.kafka.startConsumer({
      group: 'audit.sink',
      handlers: [],
      batchHandler: {
        events: AUDITED_EVENTS,
        maxBatchSize: this.config.AUDIT_BATCH_SIZE,
        handleBatch: async (events) => {
          await this.store(events);
        },
      },
      partitionsConsumedConcurrently: this.config.AUDIT_SINK_CONCURRENCY,
    });
  }

  // Stops consuming before the database pool closes (it closes on application shutdown): the batch in flight is
  // written and committed, the rest is left to the next start. Otherwise the batch would fail on a closed pool and
  // be retried, then dead-lettered, while the service is going down.
  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  async store(events: readonly DecodedEvent[]): Promise<void> {
    // Redaction is linear, but a batch can hold megabytes of text: between records, once a slice's worth of text
    // has been prepared, the event loop gets a turn (heartbeats, the HTTP API, a shutdown signal).
    const records: PreparedRecord[] = [];
    let sliceChars = 0;
    for (const event of events) {
      const record = this.prepare(event.envelope);
      records.push(record);
      sliceChars += record.content.length;
      if (sliceChars >= PREPARE_SLICE_CHARS) {
        sliceChars = 0;
        await yieldToEventLoop();
      }
    }
    await this.writer.submit(records);
  }

  prepare(envelope: EventEnvelope): PreparedRecord {
    const columns = recordColumns(envelope);
    const { stored, text } = this.privacy.protect(envelope.tenantId, envelope.data);
    return {
      tenantId: envelope.tenantId,
      eventId: envelope.id,
      type: envelope.type,
      source: envelope.source,
      taskId: envelope.taskId,
      occurredAt: new Date(envelope.time),
      ...columns,
      content: canonicalJson(stored),
      searchText: text.length > 0 ? text.join('\n') : null,
    };
  }
}
