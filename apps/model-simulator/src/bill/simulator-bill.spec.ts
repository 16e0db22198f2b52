import { SimulatorBill, type BilledCall } from './simulator-bill';

const call = (billedAt: string, costMicroUsd: number, extra: Partial<BilledCall> = {}): BilledCall => ({
  clientRequestId: null,
  requestId: `req_${billedAt}`,
  model: 'sim-fast',
  usage: { inputTokens: 10, cachedInputTokens: 2, outputTokens: 5, reasoningTokens: 1 },
  costMicroUsd,
  billedAt,
  clientConnected: true,
  api: 'chat.completions',
  responseId: null,
  serviceTier: 'default',
  background: false,
  status: 'completed',
  ...extra,
});

describe('SimulatorBill', () => {
  it('totals every billed call, those whose client left included', () => {
    const bill = new SimulatorBill();
    bill.record(call('2026-01-01T00:00:00.000Z', 3));
    bill.record(call('2026-01-01T00:00:01.000Z', 4, { clientConnected: false, clientRequestId: 'r-1' }));
    const statement = bill.statement(null);
    expect(statement.since).toBeNull();
    expect(statement.calls.map((c) => c.costMicroUsd)).toEqual([3, 4]);
    expect(statement.totals).toEqual({
      calls: 2,
      inputTokens: 20,
      cachedInputTokens: 4,
      outputTokens: 10,
      reasoningTokens: 2,
      costMicroUsd: 7,
    });
  });

  it('reads the calls billed at or after since', () => {
    const bill = new SimulatorBill();
    bill.record(call('2026-01-01T00:00:00.000Z', 3));
    bill.record(call('2026-01-01T00:00:01.000Z', 4));
    bill.record(call('2026-01-01T00:00:02.000Z', 5));
    const statement = bill.statement(new Date('2026-01-01T00:00:01.000Z'));
    expect(statement.since).toBe('2026-01-01T00:00:01.000Z');
    expect(statement.totals.costMicroUsd).toBe(9);
    expect(bill.statement(new Date('2026-01-02T00:00:00.000Z')).totals.calls).toBe(0);
  });

  it('starts afresh on reset and says how many calls it dropped', () => {
    const bill = new SimulatorBill();
    bill.record(call('2026-01-01T00:00:00.000Z', 3));
    expect(bill.reset()).toBe(1);
    expect(bill.statement(null).totals).toMatchObject({ calls: 0, costMicroUsd: 0 });
    expect(bill.reset()).toBe(0);
  });
});
