import {
  LEDGER_PATTERNS,
  type LedgerPattern,
  type ReleaseReply,
  releaseReplySchema,
  type ReleaseRequest,
  releaseRequestSchema,
  type ReserveReply,
  reserveReplySchema,
  type ReserveRequest,
  reserveRequestSchema,
  type SettleReply,
  settleReplySchema,
  type SettleRequest,
  settleRequestSchema,
} from '@deliberate/contracts';
import { formatZodIssues } from '@deliberate/kafka';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ClientKafka } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import type { z } from 'zod';
import { LedgerRequestError, LedgerUnavailableError } from './ledger-client.errors';
import {
  DEFAULT_LEDGER_TIMEOUT_MS,
  LEDGER_CLIENT_OPTIONS,
  type LedgerClientOptions,
} from './ledger-client.options';
import { kafkaLogCreator } from '@deliberate/kafka';
import { deleteLedgerReplyGroup, ensureLedgerCommandTopics } from './ledger-kafka';

const FIRST_FETCH_WAIT_MS = 5_000;

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e) return String(e.message);
  return String(e);
}

// The cost ledger's commands over Kafka request-reply, through Nest's ClientKafka: the request goes to
// `<prefix><pattern>`, the answer comes back on `<prefix><pattern>.reply`, matched by correlation id.
// reserve() never throws — no answer in time is a denial; settle() and release() throw, as callers retry them.
@Injectable()
export class LedgerClient implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(LedgerClient.name);
  private readonly client: ClientKafka;
  private readonly timeoutMs: number;
  /** The consumer group that reads the replies. */
  readonly replyGroupId: string;

  constructor(@Inject(LEDGER_CLIENT_OPTIONS) private readonly options: LedgerClientOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_LEDGER_TIMEOUT_MS;
    this.replyGroupId =
      options.replyGroupId ?? `${options.topicPrefix}deliberate.${options.clientId}.ledger-replies`;
    this.client = new ClientKafka({
      postfixId: '',
      client: {
        clientId: options.clientId,
        brokers: options.brokers,
        ...options.security,
        retry: { initialRetryTime: 200, retries: 10 },
        logCreator: kafkaLogCreator('LedgerClient'),
      },
      consumer: {
        groupId: this.replyGroupId,
        allowAutoTopicCreation: false,
        sessionTimeout: 30_000,
        heartbeatInterval: 3_000,
        maxWaitTimeInMs: 100,
      },
      producer: { allowAutoTopicCreation: false },
      run: { partitionsConsumedConcurrently: 3 },
    });
    for (const pattern of Object.values(LEDGER_PATTERNS))
      this.client.subscribeToResponseOf(this.topic(pattern));
  }

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Creates the topics if needed, joins the reply group, and waits until replies can no longer be missed. */
  async connect(): Promise<void> {
    if (this.options.createTopics ?? true) {
      await ensureLedgerCommandTopics({
        brokers: this.options.brokers,
        security: this.options.security,
        clientId: this.options.clientId,
        topicPrefix: this.options.topicPrefix,
        replicationFactor: this.options.replicationFactor ?? -1,
      });
    }
    await this.client.connect();
    await this.firstFetch();
  }

  async close(): Promise<void> {
    await this.client.close();
    if (this.options.ephemeralReplyGroup) await deleteLedgerReplyGroup(this.options, this.replyGroupId);
  }

  /** Authorizes a call's worst-case cost. Never throws: no answer in time is `ledger_unavailable`, a denial. */
  async reserve(request: ReserveRequest): Promise<ReserveReply> {
    const parsed = reserveRequestSchema.safeParse(request);
    if (!parsed.success) {
      return {
        approved: false,
        reason: 'invalid_request',
        message: `invalid reserve request: ${formatZodIssues(parsed.error)}`,
        policy: null,
      };
    }
    try {
      return await this.request(LEDGER_PATTERNS.reserve, parsed.data, reserveReplySchema);
    } catch (e) {
      if (e instanceof LedgerRequestError && e.code === 'invalid_request') {
        return { approved: false, reason: 'invalid_request', message: e.message, policy: null };
      }
      // A caller that gets no answer in time treats it as denied.
      return { approved: false, reason: 'ledger_unavailable', message: describe(e), policy: null };
    }
  }

  /** Books the actual usage and releases the rest of the hold. Idempotent on usageEventId: retry on a throw. */
  async settle(request: SettleRequest): Promise<SettleReply> {
    const valid = this.validate(settleRequestSchema, request, 'settle');
    return this.request(LEDGER_PATTERNS.settle, await valid, settleReplySchema);
  }

  /** Frees a hold the call will not use. Idempotent: retry on a throw. */
  async release(request: ReleaseRequest): Promise<ReleaseReply> {
    const valid = this.validate(releaseRequestSchema, request, 'release');
    return this.request(LEDGER_PATTERNS.release, await valid, releaseReplySchema);
  }

  private topic(pattern: LedgerPattern): string {
    return `${this.options.topicPrefix}${pattern}`;
  }

  // Async so that a refused request rejects the caller's promise like every other failure.
  private async validate<S extends z.ZodType>(
    schema: S,
    request: unknown,
    command: string,
  ): Promise<z.output<S>> {
    const parsed = await schema.safeParseAsync(request);
    if (!parsed.success) {
      throw new LedgerRequestError(
        'invalid_request',
        `invalid ${command} request: ${formatZodIssues(parsed.error)}`,
      );
    }
    return parsed.data;
  }

  private async request<S extends z.ZodType>(
    pattern: LedgerPattern,
    data: unknown,
    replySchema: S,
  ): Promise<z.output<S>> {
    let reply: unknown;
    try {
      reply = await firstValueFrom(
        this.client.send<unknown>(this.topic(pattern), data).pipe(timeout(this.timeoutMs)),
      );
    } catch (e) {
      if (e instanceof TimeoutError) {
        throw new LedgerUnavailableError(`the ledger did not answer ${pattern} within ${this.timeoutMs} ms`);
      }
      // An error reply from the ledger: { code, message }; anything else failed on the way.
      if (typeof e === 'object' && e !== null && !(e instanceof Error) && 'message' in e) {
        const code = 'code' in e && typeof e.code === 'string' ? e.code : 'internal';
        throw new LedgerRequestError(code, describe(e));
      }
      this.logger.warn({ msg: 'ledger request failed', pattern, error: describe(e) });
      throw new LedgerUnavailableError(`${pattern} failed: ${describe(e)}`);
    }
    const parsed = replySchema.safeParse(reply);
    if (!parsed.success) {
      throw new LedgerUnavailableError(`malformed ${pattern} reply: ${formatZodIssues(parsed.error)}`);
    }
    return parsed.data;
  }

  // A new reply group starts at the log's end, resolved on its first fetch: a reply written before that fetch
  // would be skipped. Waiting for one completed fetch closes that window.
  private async firstFetch(): Promise<void> {
    const consumer = this.client.consumer;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        remove();
        resolve();
      }, FIRST_FETCH_WAIT_MS);
      const remove = consumer.on(consumer.events.FETCH, () => {
        clearTimeout(timer);
        remove();
        resolve();
      });
    });
  }
}
