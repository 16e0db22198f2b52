import type { ReserveReply, ReserveRequest } from '@deliberate/contracts';
import { CallReservations, type LedgerCommands } from './call-reservations';

const request = {
  reservationKey: 'exec-1:reasoning:1',
  tenantId: 'acme',
  taskId: '00000000-0000-7000-8000-000000000001',
  model: 'sim-reasoner',
  estimatedInputTokens: 10,
  maxOutputTokens: 10,
};

const unavailable: ReserveReply = {
  approved: false,
  reason: 'ledger_unavailable',
  message: 'did not answer',
  policy: null,
};
const approved: ReserveReply = {
  approved: true,
  reservationId: '00000000-0000-7000-8000-0000000000aa',
  amountMicroUsd: 5,
  expiresAt: '2026-01-01T00:00:00.000Z',
};

// A ledger that answers the scripted replies in turn and records every reserve it was sent.
function fakeLedger(replies: ReserveReply[]): LedgerCommands & { sent: ReserveRequest[] } {
  const sent: ReserveRequest[] = [];
  return {
    sent,
    reserve: (r) => {
      sent.push(r);
      return Promise.resolve(replies[Math.min(sent.length, replies.length) - 1] ?? unavailable);
    },
    settle: () => Promise.reject(new Error('down')),
    release: () => Promise.resolve({ released: true, releasedMicroUsd: 0 }),
  };
}

const fast = { retryBaseMs: 1, retryMaxMs: 5, settleAttempts: 2 };

describe('CallReservations.reserve', () => {
  it('waits out an unanswered ledger under the same key until it answers', async () => {
    const ledger = fakeLedger([unavailable, unavailable, unavailable, approved]);
    const reservations = new CallReservations(ledger, fast);
    const reply = await reservations.reserve(request, { deadlineAt: new Date(Date.now() + 60_000) });
    expect(reply).toEqual(approved);
    expect(ledger.sent).toHaveLength(4);
    expect(new Set(ledger.sent.map((r) => r.reservationKey))).toEqual(new Set(['exec-1:reasoning:1']));
  });

  it('returns ledger_unavailable once the deadline has passed, not before', async () => {
    const ledger = fakeLedger([unavailable]);
    const reservations = new CallReservations(ledger, fast);
    const deadlineAt = new Date(Date.now() + 50);
    const reply = await reservations.reserve(request, { deadlineAt });
    expect(reply).toEqual(unavailable);
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineAt.getTime());
    expect(ledger.sent.length).toBeGreaterThan(1);
  });

  it('returns a real denial at once', async () => {
    const denied: ReserveReply = {
      approved: false,
      reason: 'budget_exceeded',
      message: 'over',
      policy: 'fail',
    };
    const ledger = fakeLedger([denied]);
    const reply = await new CallReservations(ledger, fast).reserve(request, {
      deadlineAt: new Date(Date.now() + 60_000),
    });
    expect(reply).toEqual(denied);
    expect(ledger.sent).toHaveLength(1);
  });

  it('stops waiting when its signal aborts', async () => {
    const ledger = fakeLedger([unavailable]);
    const abort = new AbortController();
    const pending = new CallReservations(ledger, { retryBaseMs: 60_000, retryMaxMs: 60_000 }).reserve(
      request,
      {
        deadlineAt: new Date(Date.now() + 3_600_000),
        signal: abort.signal,
      },
    );
    abort.abort('cancel');
    await expect(pending).resolves.toEqual(unavailable);
  });
});

describe('CallReservations.settle', () => {
  it('gives up after its attempts and says so', async () => {
    const reservations = new CallReservations(fakeLedger([]), fast);
    await expect(
      reservations.settle({
        reservationId: approved.approved ? approved.reservationId : '',
        usageEventId: 'u',
        model: 'sim-reasoner',
        usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, reasoningTokens: 0 },
      }),
    ).resolves.toBe(false);
  });
});
