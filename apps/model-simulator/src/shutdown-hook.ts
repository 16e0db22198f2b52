import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';

export const SHUTDOWN_CALLBACK = Symbol('SHUTDOWN_CALLBACK');

// Runs after Nest has closed the HTTP server, so the last spans of in-flight requests are still flushed.
@Injectable()
export class ShutdownHook implements OnApplicationShutdown {
  constructor(@Inject(SHUTDOWN_CALLBACK) private readonly callback: () => Promise<void>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.callback();
  }
}
