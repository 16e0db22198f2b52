import { taskCancelRequestedEvent } from '@deliberate/contracts';
import { type EventConsumer, handle, KafkaLifecycle } from '@deliberate/kafka';
import { Injectable } from '@nestjs/common';
import { CancellationService } from './cancellation.service';

// A group of its own: intake pauses when the queue is full, cancels must keep flowing.
@Injectable()
export class CancelRequestConsumer {
  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly cancellation: CancellationService,
  ) {}

  start(): Promise<EventConsumer> {
    return this.kafka.startConsumer({
      group: 'reasoner.cancels',
      handlers: [handle(taskCancelRequestedEvent, (event) => this.cancellation.requestCancel(event))],
    });
  }
}
