import {
  type ChatMessage,
  modelCallRecordedEvent,
  type ModelTier,
  recordPrompt,
  ZERO_USAGE,
} from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { ModelCallError, type ModelCallResult } from '@deliberate/llm';
import { Injectable } from '@nestjs/common';

/** One fast-model call: its usage event's id (the ledger books it, and settles its hold, once by that id). */
export interface RecordedCall {
  tenantId: string;
  taskId: string;
  tier: ModelTier;
  purpose: string;
  messages: readonly ChatMessage[];
  usageEventId: string;
  reservationId: string | null;
}

// Every model call is announced for the cost ledger, failed ones too: a provider may bill a call that errored.
// The messages sent go with it, for the audit trail of what each model was shown.
@Injectable()
export class ModelUsageRecorder {
  constructor(private readonly publisher: EventPublisher) {}

  async recordSuccess(call: RecordedCall, r: ModelCallResult): Promise<void> {
    await this.publisher.publish(modelCallRecordedEvent, {
      id: call.usageEventId,
      tenantId: call.tenantId,
      taskId: call.taskId,
      data: {
        callId: call.usageEventId,
        tier: call.tier,
        model: r.model,
        purpose: call.purpose,
        usage: r.usage,
        latencyMs: r.latencyMs,
        outcome: r.finishReason === 'length' ? 'length' : 'ok',
        finishReason: r.finishReason,
        errorMessage: null,
        reservationId: call.reservationId,
        prompt: recordPrompt(call.messages),
      },
    });
  }

  /**
   * A failed call, `aborted` when it was cut off (a timeout, a lost connection) and the provider may bill it: its
   * event then says so, and books the hold's worst case even when it reaches the ledger before the settle.
   */
  async recordFailure(
    call: RecordedCall,
    model: string,
    error: unknown,
    latencyMs: number,
    aborted: boolean,
  ): Promise<void> {
    await this.publisher.publish(modelCallRecordedEvent, {
      id: call.usageEventId,
      tenantId: call.tenantId,
      taskId: call.taskId,
      data: {
        callId: call.usageEventId,
        tier: call.tier,
        model,
        purpose: call.purpose,
        usage: ZERO_USAGE,
        latencyMs: Math.round(latencyMs),
        outcome: aborted ? 'aborted' : 'error',
        finishReason: null,
        reservationId: call.reservationId,
        prompt: recordPrompt(call.messages),
        errorMessage: (error instanceof ModelCallError
          ? `${error.kind}: ${error.message}`
          : String(error)
        ).slice(0, 2000),
      },
    });
  }
}
