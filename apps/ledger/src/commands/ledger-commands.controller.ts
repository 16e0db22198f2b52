import {
  LEDGER_PATTERNS,
  type ReleaseReply,
  type ReserveReply,
  type SettleReply,
} from '@deliberate/contracts';
import { Controller, Logger } from '@nestjs/common';
import {
  Ctx,
  KafkaContext,
  KafkaHeaders,
  MessagePattern,
  Payload,
  RpcException,
} from '@nestjs/microservices';
import { InvalidLedgerRequest, ReservationService } from '../reservations/reservation.service';

// The ledger's request-reply commands over Kafka. Reserve answers every request, a bad or failed one with a
// denial; settle and release answer a bad request with an error, which the client raises.
@Controller()
export class LedgerCommandsController {
  private readonly logger = new Logger(LedgerCommandsController.name);

  constructor(private readonly reservations: ReservationService) {}

  @MessagePattern(LEDGER_PATTERNS.reserve)
  reserve(@Payload() request: unknown, @Ctx() ctx: KafkaContext): Promise<ReserveReply> {
    const message = ctx.getMessage();
    const sentAt = Number(message.timestamp);
    const correlationId = message.headers?.[KafkaHeaders.CORRELATION_ID];
    return this.reservations.reserve(request, {
      requestId: correlationId === undefined || correlationId === null ? null : String(correlationId),
      ageMs: Number.isFinite(sentAt) ? Date.now() - sentAt : null,
    });
  }

  @MessagePattern(LEDGER_PATTERNS.settle)
  settle(@Payload() request: unknown): Promise<SettleReply> {
    return this.answer('settle', () => this.reservations.settle(request));
  }

  @MessagePattern(LEDGER_PATTERNS.release)
  release(@Payload() request: unknown): Promise<ReleaseReply> {
    return this.answer('release', () => this.reservations.release(request));
  }

  private async answer<T>(command: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (e instanceof InvalidLedgerRequest)
        throw new RpcException({ code: 'invalid_request', message: e.message });
      this.logger.error({ msg: `${command} failed`, error: (e as Error).message });
      throw new RpcException({ code: 'internal', message: `${command} failed: ${(e as Error).message}` });
    }
  }
}
