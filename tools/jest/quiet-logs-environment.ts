// Integration tests run the services in-process, and their JSON logs go to stdout. A passing test's logs are noise
// in CI; a failing test's logs are the first thing to read. This environment holds what is written to stdout and
// stderr while a suite runs and prints it only for a failed test or hook, then starts afresh after each test.
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

type Write = typeof process.stdout.write;

const MAX_HELD_LINES = 5_000;

export default class QuietLogsEnvironment extends TestEnvironment {
  private held: string[] = [];
  private readonly originals: { stdout: Write; stderr: Write } = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };

  override async setup(): Promise<void> {
    await super.setup();
    if (process.env['TEST_LOGS'] === 'all') return;
    const hold = (chunk: unknown, ...rest: unknown[]): boolean => {
      this.held.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      if (this.held.length > MAX_HELD_LINES) this.held.splice(0, this.held.length - MAX_HELD_LINES);
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
    process.stdout.write = hold;
    process.stderr.write = hold;
  }

  override async teardown(): Promise<void> {
    process.stdout.write = this.originals.stdout;
    process.stderr.write = this.originals.stderr;
    await super.teardown();
  }

  handleTestEvent(event: Circus.Event): void {
    if (event.name === 'test_done') {
      if (event.test.errors.length > 0) this.flush(`test "${event.test.name}" failed`);
      else this.held = [];
    } else if (event.name === 'hook_failure') {
      this.flush(`${event.hook.type} hook failed`);
    }
  }

  private flush(why: string): void {
    if (this.held.length === 0) return;
    this.originals.stderr(`\n---- service logs (${why}) ----\n`);
    for (const chunk of this.held) this.originals.stderr(chunk);
    this.originals.stderr(`---- end of service logs ----\n`);
    this.held = [];
  }
}
