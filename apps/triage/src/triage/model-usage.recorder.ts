import {
  type ChatMessage,
  modelCallRecordedEvent,
  type ModelTier,
  recordPrompt,
  uuidv7,
  ZERO_USAGE,
} from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { ModelCallError, type ModelCallResult } from '@deliberate/llm';
import { Injectable } from '@nestjs/common';

// Every model call is announced for the cost ledger, failed ones too: a provider may bill a call that errored.
// The messages sent go with it, for the audit trail of what each model was shown.
@Injectable()
export class ModelUsageRecorder {
  constructor(private readonly publisher: EventPublisher) {}

  async recordSuccess(
    tenantId: string,
    taskId: string,
    tier: ModelTier,
    purpose: string,
    messages: readonly ChatMessage[],
    r: ModelCallResult,
  ): Promise<void> {
    await this.publisher.publish(modelCallRecordedEvent, {
      tenantId,
      taskId,
      data: {
        callId: uuidv7(),
        tier,
        model: r.model,
        purpose,
        usage: r.usage,
        latencyMs: r.latencyMs,
        outcome: r.finishReason === 'length' ? 'length' : 'ok',
        finishReason: r.finishReason,
        errorMessage: null,
        reservationId: null,
        prompt: recordPrompt(messages),
      },
    });
  }

  async recordFailure(
    tenantId: string,
    taskId: string,
    tier: ModelTier,
    model: string,
    purpose: string,
    messages: readonly ChatMessage[],
    error: unknown,
    latencyMs: number,
  ): Promise<void> {
    await this.publisher.publish(modelCallRecordedEvent, {
      tenantId,
      taskId,
      data: {
        callId: uuidv7(),
        tier,
        model,
        purpose,
        usage: ZERO_USAGE,
        latencyMs,
        outcome: 'error',
        finishReason: null,
        reservationId: null,
        prompt: recordPrompt(messages),
        errorMessage: (error instanceof ModelCallError
          ? `${error.kind}: ${error.message}`
          : String(error)
        ).slice(0, 2000),
      },
    });
  }
}
