import type { ReasonerConfig } from '../config';
import type { ExecutionRunner } from '../execution/execution-runner';
import type { ExecutionRepository } from '../execution/execution.repository';
import { ExecutionPool } from './execution-pool';

// A runner whose executions run until the test releases them.
class GatedRunner {
  readonly gates = new Map<string, () => void>();
  readonly abortReasons = new Map<string, unknown>();
  run(executionId: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.gates.set(executionId, resolve);
      const aborted = () => {
        this.abortReasons.set(executionId, signal.reason);
        resolve();
      };
      if (signal.aborted) aborted();
      else signal.addEventListener('abort', aborted);
    });
  }
  release(executionId: string): void {
    this.gates.get(executionId)?.();
  }
}

class FakeRepository {
  readonly released: string[][] = [];
  release(_owner: string, ids: readonly string[]): Promise<void> {
    this.released.push([...ids]);
    return Promise.resolve();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function pool(capacity: number, concurrency: number) {
  const runner = new GatedRunner();
  const repo = new FakeRepository();
  const config = {
    REASONER_CONCURRENCY: concurrency,
    REASONER_QUEUE_CAPACITY: capacity,
    REASONER_QUEUE_RESUME_PERCENT: 50,
    REASONER_INSTANCE_ID: 'me',
  } as ReasonerConfig;
  const p = new ExecutionPool(
    runner as unknown as ExecutionRunner,
    repo as unknown as ExecutionRepository,
    config,
  );
  const valve = {
    events: [] as string[],
    pause: () => valve.events.push('pause'),
    resume: () => valve.events.push('resume'),
  };
  p.attachIntake(valve);
  return { p, runner, repo, valve };
}

describe('ExecutionPool', () => {
  it('pauses intake at capacity and resumes below the low watermark', async () => {
    const { p, runner, valve } = pool(4, 1);
    for (const id of ['a', 'b', 'c']) p.submit(id, 't');
    expect(valve.events).toEqual([]);
    p.submit('d', 't');
    expect(valve.events).toEqual(['pause']);
    expect(p.stats()).toEqual({ inFlight: 1, queued: 3, capacity: 4, intakePaused: true });
    expect(p.freeCapacity).toBe(0);

    runner.release('a');
    await tick();
    runner.release('b');
    await tick();
    // 2 left: not yet below the watermark of 2.
    expect(valve.events).toEqual(['pause']);
    runner.release('c');
    await tick();
    expect(valve.events).toEqual(['pause', 'resume']);
    expect(p.stats().intakePaused).toBe(false);
  });

  it('on drain, hands queued executions back and cuts off calls past the grace period', async () => {
    const { p, runner, repo } = pool(10, 1);
    for (const id of ['a', 'b', 'c']) p.submit(id, 't');
    await p.drain(20);
    expect(repo.released).toEqual([['b', 'c']]);
    expect(runner.abortReasons.get('a')).toBe('shutdown');
    expect(p.stats()).toMatchObject({ inFlight: 0, queued: 0 });
    expect(p.submit('d', 't')).toBe(false);
  });

  it('cancels a queued execution at once, ahead of its turn', async () => {
    const { p, runner } = pool(10, 1);
    p.submit('a', 't');
    p.submit('b', 't');
    expect(p.cancel('b')).toBe(true);
    await tick();
    expect(runner.abortReasons.get('b')).toBe('cancel');
    expect(p.cancel('unknown')).toBe(false);
  });
});
