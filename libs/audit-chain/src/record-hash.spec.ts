import { canonicalJson } from './canonical-json';
import { contentHash, GENESIS_HASH, type HashedRecord, recordHash } from './record-hash';

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: null }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":null,"z":0}]},"b":1}',
    );
  });
});

describe('record hashes', () => {
  const record: HashedRecord = {
    tenantId: 'acme',
    seq: 1,
    eventId: 'e1',
    type: 'tasks.task.completed.v1',
    source: 'deliberate/reasoner',
    taskId: null,
    occurredAt: new Date('2026-11-26T10:00:00.000Z'),
    recordedAt: new Date('2026-11-26T10:00:01.000Z'),
    route: null,
    model: 'sim',
    status: 'completed',
    decision: null,
    content: '{"a":1}',
  };

  it('changes with any column or the content, and cannot shift text between columns', () => {
    const base = contentHash(record).toString('hex');
    expect(contentHash({ ...record, status: 'failed' }).toString('hex')).not.toBe(base);
    expect(contentHash({ ...record, seq: 2 }).toString('hex')).not.toBe(base);
    expect(contentHash({ ...record, content: '{"a":2}' }).toString('hex')).not.toBe(base);
    expect(contentHash({ ...record, model: 'si', status: 'mcompleted' }).toString('hex')).not.toBe(base);
    expect(contentHash({ ...record, route: '' }).toString('hex')).not.toBe(base);
  });

  it('links a record to its predecessor', () => {
    const ch = contentHash(record);
    expect(recordHash(GENESIS_HASH, ch).equals(recordHash(Buffer.alloc(32, 1), ch))).toBe(false);
  });
});
