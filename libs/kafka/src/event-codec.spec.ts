import { taskCancelRequestedEvent } from '@deliberate/contracts';
import { DecodeError, decodeEvent } from './event-codec';

const TASK_ID = '0190f5f0-0000-7000-8000-000000000001';

function binaryHeaders(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ce_specversion: '1.0',
    ce_id: 'evt-1',
    ce_type: taskCancelRequestedEvent.topic,
    ce_source: 'test',
    ce_tenantid: 'acme',
    ce_taskid: TASK_ID,
    'content-type': 'application/json',
    ...overrides,
  };
}

function cancel(reason: string | null): Buffer {
  return Buffer.from(
    JSON.stringify({ requestedBy: 'key:1', reason, requestedAt: '2026-01-01T00:00:00.000Z' }),
    'utf8',
  );
}

function decodeFailure(value: Buffer | null, headers: Record<string, string>): DecodeError {
  try {
    decodeEvent(taskCancelRequestedEvent, value, headers);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('expected a DecodeError');
}

describe('decodeEvent', () => {
  it('decodes a valid binary-mode event', () => {
    const envelope = decodeEvent(taskCancelRequestedEvent, cancel('changed my mind 😀'), binaryHeaders());
    expect(envelope.data.reason).toBe('changed my mind 😀');
    expect(envelope.taskId).toBe(TASK_ID);
  });

  it('refuses a NUL in the payload at decode, naming the field', () => {
    const error = decodeFailure(cancel('stop\u0000now'), binaryHeaders());
    expect(error.stage).toBe('decode');
    expect(error.message).toContain('data.reason');
    expect(error.message).toContain('NUL');
  });

  it('refuses a lone surrogate in the payload, JSON-escaped', () => {
    const error = decodeFailure(
      Buffer.from('{"requestedBy":"k","reason":"a\\ud800b","requestedAt":"2026-01-01T00:00:00.000Z"}'),
      binaryHeaders(),
    );
    expect(error.stage).toBe('decode');
    expect(error.message).toContain('data.reason');
    expect(error.message).toContain('lone surrogate');
  });

  it('refuses a NUL in a CloudEvents header, naming the header', () => {
    const error = decodeFailure(cancel(null), binaryHeaders({ ce_source: 'up\u0000stream' }));
    expect(error.stage).toBe('decode');
    expect(error.message).toContain('ce_source');
  });

  it('refuses a NUL in a structured-mode attribute', () => {
    const value = Buffer.from(
      JSON.stringify({
        specversion: '1.0',
        id: 'evt\u00002',
        type: taskCancelRequestedEvent.topic,
        source: 'test',
        tenantid: 'acme',
        taskid: TASK_ID,
        data: { requestedBy: 'k', reason: null, requestedAt: '2026-01-01T00:00:00.000Z' },
      }),
    );
    const error = decodeFailure(value, { 'content-type': 'application/cloudevents+json' });
    expect(error.stage).toBe('decode');
    expect(error.message).toContain('id');
  });

  it('refuses a value that is not valid UTF-8', () => {
    const value = Buffer.concat([
      Buffer.from('{"requestedBy":"k","reason":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const error = decodeFailure(value, binaryHeaders());
    expect(error.stage).toBe('decode');
    expect(error.message).toContain('UTF-8');
  });

  it('refuses a header value that is not valid UTF-8', () => {
    const headers = { ...binaryHeaders(), ce_source: Buffer.from([0x75, 0xed, 0xa0, 0x80]) };
    try {
      decodeEvent(taskCancelRequestedEvent, cancel(null), headers);
      throw new Error('expected a DecodeError');
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).message).toBe('header ce_source: not valid UTF-8');
    }
  });

  it('passes headers it does not read through untouched, binary ones included', () => {
    const headers = { ...binaryHeaders(), 'x-binary': Buffer.from([0x00, 0xff, 0xfe]) };
    expect(decodeEvent(taskCancelRequestedEvent, cancel(null), headers).data.reason).toBeNull();
  });
});
