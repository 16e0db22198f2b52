import { Injectable, Logger } from '@nestjs/common';
import { TaskRepository } from './task.repository';

const FLUSH_AFTER_MS = 5;
const MAX_BATCH = 1_000;

// Marks tasks whose accepted event reached Kafka, many per UPDATE: under load this saves a database round trip
// per submission. A mark that is lost only means the outbox relay announces the task once more.
@Injectable()
export class PublishedMarker {
  private readonly logger = new Logger(PublishedMarker.name);
  private pending: { id: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly tasks: TaskRepository) {}

  mark(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ id, resolve, reject });
      if (this.pending.length >= MAX_BATCH) this.flushSoon(0);
      else this.flushSoon(FLUSH_AFTER_MS);
    });
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delayMs);
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const batch = this.pending.splice(0, MAX_BATCH);
    if (this.pending.length) this.flushSoon(FLUSH_AFTER_MS);
    if (!batch.length) return;
    try {
      await this.tasks.markPublished(batch.map((p) => p.id));
      for (const p of batch) p.resolve();
    } catch (e) {
      this.logger.warn({
        msg: 'could not mark tasks published; the outbox relay will announce them again',
        error: (e as Error).message,
      });
      for (const p of batch) p.reject(e);
    }
  }
}
