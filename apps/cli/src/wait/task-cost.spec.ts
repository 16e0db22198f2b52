import type { MeResponse } from '@deliberate/contracts';
import { type Fetch, GatewayClient } from '../http/gateway-client';
import { mayReadSpend, taskCostReader } from './task-cost';

const TASK = '0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10';
const json = (status: number, body: unknown) =>
  Promise.resolve(new Response(JSON.stringify(body), { status }));

// A gateway whose /v1/me and spend report answer as given; it remembers the spend queries it was asked.
function gateway(me: [number, unknown], spend: [number, unknown]) {
  const asked: URL[] = [];
  const fetchImpl: Fetch = (url) => {
    const u = new URL(url);
    if (u.pathname === '/v1/me') return json(...me);
    asked.push(u);
    return json(...spend);
  };
  return { client: new GatewayClient({ url: 'http://g', apiKey: 'k' }, fetchImpl), asked };
}

const total = (costMicroUsd: number) => ({ rows: [], total: { key: 'total', costMicroUsd } });

describe('the booked cost in submit --wait', () => {
  it('is readable by admin and auditor keys, not by a submitter key', () => {
    const tenant = (role: MeResponse['role']): MeResponse => ({ kind: 'tenant', tenantId: 'acme', role });
    expect(
      [tenant('admin'), tenant('auditor'), tenant('submitter'), tenant('reviewer')].map(mayReadSpend),
    ).toEqual([true, true, false, false]);
    expect(mayReadSpend({ kind: 'platform-auditor' })).toBe(false);
  });

  it("reads the task's total from the spend report, over a period that holds the task", async () => {
    const g = gateway([200, { kind: 'tenant', tenantId: 'acme', role: 'auditor' }], [200, total(10_450)]);
    const read = await taskCostReader(g.client, Date.parse('2026-12-01T00:30:00Z'));
    expect(await read!(TASK)).toBe(10_450);
    expect(Object.fromEntries(g.asked[0]!.searchParams)).toEqual({
      taskId: TASK,
      groupBy: 'model',
      from: '2026-11-30T00:30:00.000Z',
    });
  });

  it('is not read at all for a submitter key, or when the key cannot be asked who it is', async () => {
    const submitter = gateway(
      [200, { kind: 'tenant', tenantId: 'acme', role: 'submitter' }],
      [200, total(1)],
    );
    expect(await taskCostReader(submitter.client, 0)).toBeNull();
    const down = gateway([503, { message: 'down' }], [200, total(1)]);
    expect(await taskCostReader(down.client, 0)).toBeNull();
    expect([...submitter.asked, ...down.asked]).toEqual([]);
  });

  it('is null for a poll whose spend report fails, without failing the wait', async () => {
    const g = gateway([200, { kind: 'tenant', tenantId: 'acme', role: 'admin' }], [403, { message: 'no' }]);
    const read = await taskCostReader(g.client, 0);
    await expect(read!(TASK)).resolves.toBeNull();
  });
});
