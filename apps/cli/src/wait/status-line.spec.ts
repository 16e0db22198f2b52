import { changeLine, formatElapsed, type StatusSink, StatusReporter, statusLine } from './status-line';

const ID = '0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10';
const usage = { inputTokens: 1200, cachedInputTokens: 0, outputTokens: 3456, reasoningTokens: 3000 };

function sink(isTTY: boolean): StatusSink & { text: string } {
  return {
    isTTY,
    text: '',
    write(t: string) {
      this.text += t;
    },
  };
}

describe('status line', () => {
  it('formats elapsed time in seconds, minutes and hours', () => {
    expect([0, 7_900, 65_000, 3_599_000, 7_380_000].map(formatElapsed)).toEqual([
      '0s',
      '7s',
      '1m 05s',
      '59m 59s',
      '2h 03m',
    ]);
    expect(formatElapsed(-5)).toBe('0s');
  });

  it('shows the current status, elapsed time, every status so far and the tokens once known', () => {
    const changes = [
      { status: 'accepted' as const, atMs: 0 },
      { status: 'reasoning' as const, atMs: 2000 },
    ];
    expect(statusLine({ taskId: ID, changes, elapsedMs: 65_000, usage: null, costMicroUsd: null })).toBe(
      'task 0b8f5c0e  ·  reasoning  ·  1m 05s  ·  accepted → reasoning',
    );
    expect(statusLine({ taskId: ID, changes, elapsedMs: 65_000, usage, costMicroUsd: null })).toBe(
      'task 0b8f5c0e  ·  reasoning  ·  1m 05s  ·  accepted → reasoning  ·  1,200 in / 3,456 out tokens (3,000 reasoning)',
    );
    expect(changeLine(ID, 'completed', 9_000, null)).toBe('task 0b8f5c0e completed after 9s');
  });

  it('rewrites one line in place on a terminal, and ends it with a newline', () => {
    const out = sink(true);
    const r = new StatusReporter(out, ID);
    r.update('accepted', 0, null);
    r.update('accepted', 1000, null);
    r.update('completed', 2000, usage);
    r.finish();
    expect(out.text.split('\r\x1b[2K')).toHaveLength(4);
    expect(out.text.endsWith('\n')).toBe(true);
    expect(out.text.split('\n')).toHaveLength(2);
    expect(r.statuses).toEqual(['accepted', 'completed']);
  });

  it('writes one plain line per status change elsewhere, with no escape codes', () => {
    const out = sink(false);
    const r = new StatusReporter(out, ID);
    r.update('accepted', 0, null);
    r.update('accepted', 1000, null);
    r.update('reasoning', 4000, null);
    r.finish();
    expect(out.text).toBe('task 0b8f5c0e accepted after 0s\ntask 0b8f5c0e reasoning after 4s\n');
  });

  it('adds the cost booked so far when it is known, and says nothing of it otherwise', () => {
    const changes = [{ status: 'completed' as const, atMs: 9_000 }];
    expect(statusLine({ taskId: ID, changes, elapsedMs: 9_000, usage, costMicroUsd: 10_450 })).toBe(
      'task 0b8f5c0e  ·  completed  ·  9s  ·  completed  ·  1,200 in / 3,456 out tokens (3,000 reasoning)  ·  $0.010450 booked',
    );
    expect(statusLine({ taskId: ID, changes, elapsedMs: 9_000, usage: null, costMicroUsd: 0 })).toBe(
      'task 0b8f5c0e  ·  completed  ·  9s  ·  completed  ·  $0.000000 booked',
    );
    expect(changeLine(ID, 'completed', 9_000, usage, 1_250_000)).toBe(
      'task 0b8f5c0e completed after 9s, 1,200 in / 3,456 out tokens (3,000 reasoning), $1.250000 booked',
    );
    expect(changeLine(ID, 'completed', 9_000, null, 450)).toBe(
      'task 0b8f5c0e completed after 9s, $0.000450 booked',
    );
    expect(changeLine(ID, 'completed', 9_000, null, null)).not.toMatch(/\$|booked/);
  });

  it('keeps the last cost read when a poll brings none, and never invents one', () => {
    const out = sink(false);
    const r = new StatusReporter(out, ID);
    r.update('accepted', 0, null);
    expect(r.costMicroUsd).toBeNull();
    r.update('reasoning', 1000, null, 450);
    r.update('completed', 2000, null, null);
    expect(r.costMicroUsd).toBe(450);
    expect(out.text).toBe(
      'task 0b8f5c0e accepted after 0s\ntask 0b8f5c0e reasoning after 1s, $0.000450 booked\n' +
        'task 0b8f5c0e completed after 2s, $0.000450 booked\n',
    );
  });
});
