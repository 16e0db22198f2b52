import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { contextFromTraceparent } from '@deliberate/kafka';
import { JobRunMetrics } from '@deliberate/metrics';
import { PeriodicJob } from '@deliberate/persistence';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { WEBHOOKS_CONFIG, type WebhooksConfig } from '../config';
import { OutboxRelay } from '@deliberate/outbox';
import { nextAttempt, parseRetryAfter, type RetryPolicy } from '../retries/retry-plan';
import { secretKey, signatureHeaders } from '../signing/webhook-signature';
import { SsrfGuard } from '../ssrf/ssrf-guard';
import {
  type AttemptErrorType,
  type AttemptRecord,
  type ClaimedAttempt,
  DeliveryStore,
  type SigningTarget,
} from './delivery-store';
import { postWebhook, type SendResult } from './http-sender';

const TRACER_NAME = 'deliberate.webhooks';

export const TASK_SECRET_MISSING =
  "the tenant has no task webhook secret to sign deliveries to a task's webhookUrl: an admin creates one with POST /v1/webhooks/task-secret";

/** What an attempt came to, before it is recorded. */
interface Outcome {
  url: string;
  outcome: AttemptRecord['outcome'];
  errorType: AttemptErrorType | null;
  httpStatus: number | null;
  latencyMs: number;
  responseSnippet: string;
  error: string | null;
  retryAfterMs: number | null;
  /** No point retrying: the endpoint is disabled or answered 410. */
  final: boolean;
  endpointGone: boolean;
}

// Sends due attempts. It claims them in batches (FOR UPDATE SKIP LOCKED, with a lease), keeps up to
// WEBHOOKS_CONCURRENCY requests in flight, and records each batch's outcomes in one transaction with the events
// announcing them. New messages wake it at once; otherwise it polls.
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(Dispatcher.name);
  private readonly policy: RetryPolicy;
  private readonly poller: PeriodicJob;
  private polling = false;
  private inFlight = 0;
  private readonly batches = new Set<Promise<void>>();
  private readonly publishing = new Set<Promise<void>>();

  constructor(
    private readonly store: DeliveryStore,
    private readonly guard: SsrfGuard,
    private readonly relay: OutboxRelay,
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
    runs: JobRunMetrics,
  ) {
    this.policy = {
      schedule: config.WEBHOOKS_RETRY_SCHEDULE,
      jitter: config.WEBHOOKS_RETRY_JITTER,
      retryAfterMaxMs: config.WEBHOOKS_RETRY_AFTER_MAX_MS,
    };
    this.poller = new PeriodicJob(
      {
        name: 'webhook dispatch',
        intervalMs: config.WEBHOOKS_POLL_INTERVAL_MS,
        runAtStart: true,
        logger: this.logger,
        runs,
      },
      () => this.claimAndSend(),
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.WEBHOOKS_DISPATCHER_ENABLED) return;
    this.polling = true;
    this.poller.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.polling = false;
    await this.poller.stop();
    await Promise.allSettled([...this.batches]);
    await Promise.allSettled([...this.publishing]);
  }

  /** New messages are due: look now rather than at the next poll. */
  wake(): void {
    if (this.polling) void this.poller.trigger();
  }

  // One round: claims what is due, as far as there is room, and sends it in the background; answers when to look
  // again. A claim that fails is logged by the poller and tried again at the next poll.
  private async claimAndSend(): Promise<void | { nextRunInMs: number }> {
    const capacity = this.config.WEBHOOKS_CONCURRENCY - this.inFlight;
    // Claim in sizeable batches: a claim is a round trip, a batch of one would waste it. A finishing batch wakes
    // the poller again.
    if (capacity < Math.min(this.config.WEBHOOKS_BATCH_SIZE, this.config.WEBHOOKS_CONCURRENCY) / 2) return;
    const claimed = await this.store.claimDue(
      Math.min(capacity, this.config.WEBHOOKS_BATCH_SIZE),
      this.config.WEBHOOKS_LEASE_MS,
    );
    if (!claimed.length) {
      // Look again at the earliest scheduled attempt if it comes before the next poll, so retries leave on time
      // (at least 10 ms: a due row another instance is claiming right now must not make this loop spin).
      const dueInMs = await this.store.nextDueInMs().catch(() => null);
      return {
        nextRunInMs: Math.max(10, Math.min(this.config.WEBHOOKS_POLL_INTERVAL_MS, dueInMs ?? Infinity)),
      };
    }
    this.inFlight += claimed.length;
    const batch = this.process(claimed)
      .catch((e: unknown) =>
        // The leases expire and the attempts are made again: nothing is lost, at worst sent twice.
        this.logger.error({
          msg: 'recording a batch failed',
          error: (e as Error).message,
          size: claimed.length,
        }),
      )
      .finally(() => {
        this.inFlight -= claimed.length;
        this.batches.delete(batch);
        this.wake();
      });
    this.batches.add(batch);
    return { nextRunInMs: 0 };
  }

  private async process(claimed: readonly ClaimedAttempt[]): Promise<void> {
    const endpointIds = [...new Set(claimed.flatMap((c) => (c.endpointId ? [c.endpointId] : [])))];
    const urlTenants = [...new Set(claimed.filter((c) => !c.endpointId).map((c) => c.tenantId))];
    const [endpoints, taskSecrets] = await Promise.all([
      this.store.endpoints(endpointIds),
      this.store.taskSecrets(urlTenants),
    ]);
    const records = await Promise.all(
      claimed.map(async (claim): Promise<AttemptRecord> => {
        const attemptedAt = new Date();
        const result = await this.traced(claim, () => this.attempt(claim, endpoints, taskSecrets));
        const now = new Date();
        const next =
          result.outcome === 'delivered' || result.final
            ? null
            : nextAttempt(this.policy, claim.step, now, result.retryAfterMs);
        return {
          claim,
          url: result.url,
          outcome: result.outcome,
          errorType: result.errorType,
          httpStatus: result.httpStatus,
          latencyMs: result.latencyMs,
          responseSnippet: result.responseSnippet,
          error: result.error,
          attemptedAt,
          nextAttemptAt: next?.kind === 'retry' ? next.at : null,
          endpointGone: result.endpointGone,
        };
      }),
    );
    const events = await this.store.record(records, this.config.WEBHOOKS_DISABLE_AFTER_FAILING_MS);
    // The attempts are recorded: their slots are free again while the events go out (the relay never throws).
    const publishing = this.relay.publish(events).finally(() => this.publishing.delete(publishing));
    this.publishing.add(publishing);
  }

  // Each attempt is a span in the trace of the task it announces, so a delivery shows beside the task's model calls
  // (its HTTP request is a child span, and carries the trace to the receiver in a traceparent header).
  private traced(claim: ClaimedAttempt, attempt: () => Promise<Outcome>): Promise<Outcome> {
    return trace.getTracer(TRACER_NAME).startActiveSpan(
      'webhook deliver',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'deliberate.webhook.message_id': claim.messageId,
          'deliberate.webhook.event_type': claim.eventType,
          'deliberate.webhook.attempt': claim.attempt,
          'deliberate.task_id': claim.taskId,
        },
      },
      contextFromTraceparent(claim.traceparent),
      async (span) => {
        try {
          const outcome = await attempt();
          span.setAttribute('deliberate.webhook.outcome', outcome.outcome);
          if (outcome.httpStatus !== null) span.setAttribute('http.response.status_code', outcome.httpStatus);
          if (outcome.outcome !== 'delivered')
            span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error ?? outcome.outcome });
          return outcome;
        } finally {
          span.end();
        }
      },
    );
  }

  private async attempt(
    claim: ClaimedAttempt,
    endpoints: Map<string, SigningTarget>,
    taskSecrets: Map<string, string[]>,
  ): Promise<Outcome> {
    const refused = (url: string, errorType: AttemptErrorType, error: string, final = false): Outcome => ({
      url,
      outcome: 'refused',
      errorType,
      httpStatus: null,
      latencyMs: 0,
      responseSnippet: '',
      error,
      retryAfterMs: null,
      final,
      endpointGone: false,
    });
    let url: string;
    let secrets: string[];
    if (claim.endpointId) {
      const endpoint = endpoints.get(claim.endpointId);
      if (!endpoint)
        return refused('', 'endpoint_missing', `endpoint ${claim.endpointId} no longer exists`, true);
      if (endpoint.status === 'disabled')
        return refused(endpoint.url, 'endpoint_disabled', 'the endpoint is disabled', true);
      url = endpoint.url;
      secrets = endpoint.secrets;
    } else {
      url = claim.url ?? '';
      const tenantSecrets = taskSecrets.get(claim.tenantId);
      if (!tenantSecrets) return refused(url, 'task_secret_missing', TASK_SECRET_MISSING);
      secrets = tenantSecrets;
    }
    const resolution = await this.guard.resolve(url);
    if (!resolution.ok) return refused(url, 'ssrf_refused', resolution.reason);
    const headers = signatureHeaders(
      secrets.map(secretKey),
      claim.messageId,
      Math.floor(Date.now() / 1000),
      claim.body,
    );
    const { target } = resolution;
    let sent = await postWebhook(target, headers, claim.body, this.config.WEBHOOKS_TIMEOUT_MS);
    for (const next of target.alternatives) {
      if (sent.kind !== 'error' || !sent.notConnected) break;
      const pinned = { ...target, address: next.address, family: next.family };
      sent = await postWebhook(pinned, headers, claim.body, this.config.WEBHOOKS_TIMEOUT_MS);
    }
    return this.classify(url, sent, claim.endpointId !== null);
  }

  private classify(url: string, sent: SendResult, isEndpoint: boolean): Outcome {
    if (sent.kind === 'error') {
      return {
        url,
        outcome: 'failed',
        errorType: sent.timedOut ? 'timeout' : 'connection',
        httpStatus: null,
        latencyMs: sent.latencyMs,
        responseSnippet: '',
        error: sent.error,
        retryAfterMs: null,
        final: false,
        endpointGone: false,
      };
    }
    const { status } = sent;
    const delivered = status >= 200 && status < 300;
    const gone = status === 410;
    let error: string | null = null;
    if (!delivered) {
      error =
        status >= 300 && status < 400
          ? `HTTP ${status}: redirects are not followed`
          : gone
            ? `HTTP 410 Gone: ${isEndpoint ? 'the endpoint is disabled' : 'no further attempts'}`
            : `HTTP ${status}`;
    }
    return {
      url,
      outcome: delivered ? 'delivered' : 'failed',
      errorType: delivered ? null : statusClass(status),
      httpStatus: status,
      latencyMs: sent.latencyMs,
      responseSnippet: sent.snippet,
      error,
      retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(sent.retryAfter, new Date()) : null,
      final: gone,
      endpointGone: gone && isEndpoint,
    };
  }
}

// A receiver may answer any number: the metric carries its class only.
function statusClass(status: number): AttemptErrorType {
  switch (Math.floor(status / 100)) {
    case 1:
      return '1xx';
    case 3:
      return '3xx';
    case 4:
      return '4xx';
    case 5:
      return '5xx';
    default:
      return 'invalid_status';
  }
}
