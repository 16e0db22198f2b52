import { reserveRequestSchema } from '@deliberate/contracts';
import { reserveFingerprint } from './reservation-key';

const request = reserveRequestSchema.parse({
  reservationKey: 'call-1',
  tenantId: 'acme',
  taskId: '0190a0e0-0000-7000-8000-000000000001',
  model: 'sim-fast',
  estimatedInputTokens: 100,
  maxOutputTokens: 200,
});

describe('reserveFingerprint', () => {
  it('is the same for a retry, whatever its ttl', () => {
    expect(reserveFingerprint({ ...request, ttlMs: 5_000 })).toBe(reserveFingerprint(request));
  });

  it('tells apart a request that asks for anything else', () => {
    const others = [
      { maxOutputTokens: 201 },
      { estimatedInputTokens: 101 },
      { model: 'sim-standard' },
      { apiKeyId: 'k1' },
      { project: 'apollo' },
      { taskCeilingMicroUsd: 10 },
      { taskId: '0190a0e0-0000-7000-8000-000000000002' },
    ];
    for (const other of others) {
      expect(reserveFingerprint({ ...request, ...other })).not.toBe(reserveFingerprint(request));
    }
  });
});
