import { Webhook } from 'standardwebhooks';
import {
  generateSigningSecret,
  matchStandardWebhookSignature,
  signingKey,
  signStandardWebhook,
} from './standard-webhooks-signature';

const body = '{"input":"What is 3 + 4?"}';
const id = '0199b2d4-9c1e-7000-8000-000000000001';
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('Standard Webhooks signatures', () => {
  it('issues whsec_ secrets of 32 random bytes', () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(signingKey(secret)).toHaveLength(32);
    expect(generateSigningSecret()).not.toBe(secret);
  });

  it('signs as the standardwebhooks package does, both ways', () => {
    const secret = generateSigningSecret();
    const ts = nowSeconds();
    const ours = signStandardWebhook(signingKey(secret), id, ts, body);
    expect(ours).toBe(new Webhook(secret).sign(id, new Date(ts * 1000), body));
    expect(
      new Webhook(secret).verify(body, {
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': ours,
      }),
    ).toEqual(JSON.parse(body));
    expect(signStandardWebhook(signingKey(secret), id, ts, Buffer.from(body))).toBe(ours);
  });

  it('finds which key signed, among several signatures and several keys', () => {
    const [a, b, c] = [generateSigningSecret(), generateSigningSecret(), generateSigningSecret()].map(
      signingKey,
    );
    const ts = nowSeconds();
    const header = `v2,ignored ${signStandardWebhook(b!, id, ts, body)}`;
    expect(matchStandardWebhookSignature([a!, b!], id, ts, body, header)).toBe(1);
    expect(matchStandardWebhookSignature([a!, c!], id, ts, body, header)).toBeNull();
  });

  it('matches nothing when the id, timestamp or body differs, or the header is malformed', () => {
    const key = signingKey(generateSigningSecret());
    const ts = nowSeconds();
    const header = signStandardWebhook(key, id, ts, body);
    expect(matchStandardWebhookSignature([key], id, ts, body, header)).toBe(0);
    expect(matchStandardWebhookSignature([key], `${id}x`, ts, body, header)).toBeNull();
    expect(matchStandardWebhookSignature([key], id, ts + 1, body, header)).toBeNull();
    expect(matchStandardWebhookSignature([key], id, ts, body.replace('3', '4'), header)).toBeNull();
    expect(matchStandardWebhookSignature([key], id, ts, body, '')).toBeNull();
    expect(matchStandardWebhookSignature([key], id, ts, body, 'v1,')).toBeNull();
    expect(matchStandardWebhookSignature([key], id, ts, body, header.slice(3))).toBeNull();
  });
});
