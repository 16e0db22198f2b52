import { Webhook } from 'standardwebhooks';
import { generateSecret, secretKey, signatureHeaders } from './webhook-signature';

const body = JSON.stringify({
  type: 'task.completed',
  timestamp: '2026-01-01T00:00:00.000Z',
  data: { a: 1 },
});
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('Standard Webhooks signatures', () => {
  it('issues whsec_ secrets of 32 random bytes', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(secretKey(secret)).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });

  it('verifies with the standardwebhooks package', () => {
    const secret = generateSecret();
    const headers = signatureHeaders([secretKey(secret)], 'msg_0123456789abcdef', nowSeconds(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('is rejected for a tampered body, a wrong secret and a stale timestamp', () => {
    const secret = generateSecret();
    const headers = signatureHeaders([secretKey(secret)], 'msg_0123456789abcdef', nowSeconds(), body);
    expect(() => new Webhook(secret).verify(body.replace('"a":1', '"a":2'), headers)).toThrow(/signature/i);
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow(/signature/i);
    const stale = signatureHeaders([secretKey(secret)], 'msg_0123456789abcdef', nowSeconds() - 3_600, body);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow(/timestamp/i);
  });

  it('carries one signature per secret during a rotation overlap, each verifying on its own', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const headers = signatureHeaders(
      [secretKey(newSecret), secretKey(oldSecret)],
      'msg_0123456789abcdef',
      nowSeconds(),
      body,
    );
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
  });
});
