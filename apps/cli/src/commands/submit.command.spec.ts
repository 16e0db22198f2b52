import { CliContext, type Io } from '../cli-context';
import { CliError, EXIT } from '../exit-codes';
import { type Fetch, GatewayClient } from '../http/gateway-client';
import { waitForOutcome } from './submit.command';

const ID = '0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10';

// A gateway answering each poll with the next of `answers` (a status, or an HTTP error code), the last one forever.
function gateway(answers: (string | number)[]) {
  let i = 0;
  const fetchImpl: Fetch = () => {
    const a = answers[Math.min(i, answers.length - 1)]!;
    i += 1;
    if (typeof a === 'number') return Promise.resolve(new Response('{"message":"down"}', { status: a }));
    const result =
      a === 'completed'
        ? { answer: '42', answeredBy: 'fast_model', model: 'm', usage: null, latencyMs: 1, degraded: null }
        : null;
    return Promise.resolve(new Response(JSON.stringify({ id: ID, status: a, result }), { status: 200 }));
  };
  return new GatewayClient({ url: 'http://g', apiKey: 'k' }, fetchImpl);
}

function context() {
  let now = 0;
  let err = '';
  const io: Io = {
    out: () => undefined,
    err: (t) => (err += t),
    errIsTTY: false,
    env: {},
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    now: () => now,
  };
  return { ctx: new CliContext(io, {}), err: () => err };
}

describe('submit --wait', () => {
  it('polls until the task is terminal, one line per status, riding out an unavailable gateway', async () => {
    const { ctx, err } = context();
    const { task, bookedCostMicroUsd } = await waitForOutcome(
      ctx,
      gateway(['accepted', 'accepted', 503, 'reasoning', 'completed']),
      ID,
      60_000,
      1000,
    );
    expect(bookedCostMicroUsd).toBeNull();
    expect(task.status).toBe('completed');
    expect(err()).toBe(
      'task 0b8f5c0e accepted after 0s\ntask 0b8f5c0e reasoning after 3s\ntask 0b8f5c0e completed after 4s\n',
    );
  });

  it('stops at a task waiting for a human, which the caller reports as exit 5', async () => {
    const { ctx } = context();
    expect(
      (await waitForOutcome(ctx, gateway(['accepted', 'needs_human']), ID, 60_000, 1000)).task.status,
    ).toBe('needs_human');
  });

  it('gives up at the timeout with exit 5, saying the task goes on', async () => {
    const { ctx } = context();
    const e = await waitForOutcome(ctx, gateway(['reasoning']), ID, 5_000, 1000).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(EXIT.taskNotCompleted);
    expect((e as CliError).message).toBe(
      `task ${ID} reasoning: still not done after 5 s; it goes on (deliberate get ${ID})`,
    );
  });

  it('ends at once on a refusal (the key was revoked meanwhile)', async () => {
    const { ctx } = context();
    const e = await waitForOutcome(ctx, gateway(['accepted', 401]), ID, 60_000, 1000).catch(
      (x: unknown) => x,
    );
    expect((e as CliError).exitCode).toBe(EXIT.refused);
  });

  it('reads the booked cost at each status change only, shows it, and returns the last one read', async () => {
    const { ctx, err } = context();
    const costs = [null, 450, 10_450];
    let reads = 0;
    const outcome = await waitForOutcome(
      ctx,
      gateway(['accepted', 'accepted', 'reasoning', 'reasoning', 'completed']),
      ID,
      60_000,
      1000,
      () => Promise.resolve(costs[reads++] ?? null),
    );
    expect(reads).toBe(3);
    expect(outcome.bookedCostMicroUsd).toBe(10_450);
    expect(err()).toBe(
      'task 0b8f5c0e accepted after 0s\ntask 0b8f5c0e reasoning after 2s, $0.000450 booked\n' +
        'task 0b8f5c0e completed after 4s, $0.010450 booked\n',
    );
  });
});
