import { generateSigningSecret, signingKey, signStandardWebhook } from '@deliberate/contracts';
import { type SignedSubmission, verifyIntakeSignature } from './intake-signature';

const TOLERANCE_MS = 300_000;
const taskId = '0199b2d4-9c1e-7000-8000-000000000001';
const value = Buffer.from('{"input":"What is 3 + 4?"}');
// Long before the test runs: the verdict must not depend on the consumer's clock.
const sentAtMs = Date.UTC(2024, 0, 1, 12, 0, 0, 400);
const sentAt = Math.floor(sentAtMs / 1000);
const current = { id: 'current', key: signingKey(generateSigningSecret()) };
const previous = { id: 'previous', key: signingKey(generateSigningSecret()) };

function submission(
  headers: Record<string, string>,
  overrides: Partial<SignedSubmission> = {},
): SignedSubmission {
  return { tenantId: 'acme', taskId, value, headers, messageTimestampMs: sentAtMs, ...overrides };
}

const signedWith = (key: Buffer, ts = sentAt, id = taskId, body: Buffer = value) => ({
  'deliberate-timestamp': String(ts),
  'deliberate-signature': signStandardWebhook(key, id, ts, body),
});

describe('verifyIntakeSignature', () => {
  it('names the secret that signed, among the valid ones of the tenant', () => {
    expect(
      verifyIntakeSignature(submission(signedWith(current.key)), [current, previous], TOLERANCE_MS),
    ).toEqual({
      ok: true,
      secretId: 'current',
    });
    expect(
      verifyIntakeSignature(submission(signedWith(previous.key)), [current, previous], TOLERANCE_MS),
    ).toEqual({
      ok: true,
      secretId: 'previous',
    });
  });

  it('refuses a submission without signature headers, or with a malformed timestamp', () => {
    const reason = (headers: Record<string, string>) => {
      const verdict = verifyIntakeSignature(submission(headers), [current], TOLERANCE_MS);
      return verdict.ok ? null : verdict.reason;
    };
    expect(reason({})).toMatch(/^unsigned submission/);
    expect(reason({ 'deliberate-signature': 'v1,AAAA' })).toMatch(/^missing deliberate-timestamp/);
    expect(reason({ 'deliberate-timestamp': String(sentAt) })).toMatch(/^missing deliberate-signature/);
    expect(reason({ ...signedWith(current.key), 'deliberate-timestamp': '2026-12-01T12:00:00Z' })).toMatch(
      /must be epoch seconds/,
    );
  });

  it('refuses every signature when the tenant has no valid secret', () => {
    const verdict = verifyIntakeSignature(submission(signedWith(current.key)), [], TOLERANCE_MS);
    expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(/has no valid intake secret/) });
  });

  it("compares the timestamp with the message's Kafka timestamp, within the tolerance either way", () => {
    const at = (ts: number) =>
      verifyIntakeSignature(submission(signedWith(current.key, ts)), [current], TOLERANCE_MS);
    expect(at(sentAt - 300).ok).toBe(true);
    expect(at(sentAt + 300).ok).toBe(true);
    expect(at(sentAt - 301)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^stale signature: .* 301 s before/),
    });
    expect(at(sentAt + 301)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^stale signature: .* 301 s after/),
    });
    // Read long after it was sent (a lagging or restarted gateway), it is still admitted.
    expect(verifyIntakeSignature(submission(signedWith(current.key)), [current], TOLERANCE_MS).ok).toBe(true);
  });

  it('matches nothing for another key, another task id, another body or another timestamp than signed', () => {
    const mismatch = (headers: Record<string, string>, overrides: Partial<SignedSubmission> = {}) =>
      verifyIntakeSignature(submission(headers, overrides), [current], TOLERANCE_MS);
    const reason = expect.stringMatching(/^no signature matches an intake secret of tenant 'acme'/);
    expect(mismatch(signedWith(previous.key))).toEqual({ ok: false, reason });
    expect(mismatch(signedWith(current.key, sentAt, `${taskId.slice(0, -1)}2`))).toEqual({
      ok: false,
      reason,
    });
    expect(mismatch(signedWith(current.key), { value: Buffer.from('{"input":"What is 3 + 5?"}') })).toEqual({
      ok: false,
      reason,
    });
    expect(mismatch({ ...signedWith(current.key), 'deliberate-timestamp': String(sentAt + 1) })).toEqual({
      ok: false,
      reason,
    });
  });
});
