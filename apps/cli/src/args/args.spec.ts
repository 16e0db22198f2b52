import { CliError, EXIT } from '../exit-codes';
import { readInputText, type InputReader } from './input-text';
import { buildSubmission, parseDurationMs } from './submission';
import { parseTaskId } from './task-id';

const reader = (files: Record<string, Buffer | string>, stdin: Buffer | string = ''): InputReader => ({
  sizeOf: (path) => {
    const f = files[path];
    if (f === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return Buffer.byteLength(f);
  },
  readFile: (path) => Buffer.from(files[path]!),
  readStdin: () => Promise.resolve(Buffer.from(stdin)),
});

async function refusal(p: Promise<unknown>): Promise<CliError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CliError);
  return e as CliError;
}

describe('task ids', () => {
  it('accepts a UUID in either case', () => {
    expect(parseTaskId('0B8F5C0E-3C1A-4F5E-9A59-2D4C8D1E7F10')).toBe('0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10');
  });

  it('refuses anything else as a usage error, showing control characters escaped', () => {
    for (const bad of ['42', '../../admin', '0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f1', 'x\u0000y']) {
      expect(() => parseTaskId(bad)).toThrow(CliError);
    }
    expect(() => parseTaskId('a\nb')).toThrow("not 'a\\nb'");
  });
});

describe('submit options', () => {
  it('builds the body with limits, metadata and a webhook', () => {
    const r = buildSubmission('Why?', {
      mode: 'reasoning',
      maxThinkingTokens: '4000',
      latencyBudget: '5m',
      maxCostUsd: '0.25',
      reasoningEffort: 'high',
      webhookUrl: 'https://hooks.example/x',
      metadata: ['ticket=T-1', 'query=a=b'],
      project: 'search',
    });
    expect(r).toEqual({
      ok: true,
      body: {
        input: 'Why?',
        mode: 'reasoning',
        maxThinkingTokens: 4000,
        latencyBudgetMs: 300_000,
        maxCostUsd: 0.25,
        reasoningEffort: 'high',
        webhookUrl: 'https://hooks.example/x',
        metadata: { ticket: 'T-1', query: 'a=b' },
        project: 'search',
      },
    });
    expect(buildSubmission('hi', {})).toEqual({ ok: true, body: { input: 'hi' } });
  });

  it('names every bad option by its flag at once', () => {
    const r = buildSubmission('Why?', {
      mode: 'slow',
      maxThinkingTokens: '1.5',
      latencyBudget: 'soon',
      maxCostUsd: '0',
      webhookUrl: 'ftp://x',
      metadata: ['novalue', 'a=1', 'a=2'],
    });
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        "--max-thinking-tokens: '1.5' is not an integer",
        "--latency-budget: 'soon' is not a duration such as 1500ms, 30s, 5m",
        "--metadata: 'novalue' is not key=value",
        "--metadata: key 'a' is given twice",
        expect.stringMatching(/^--mode: /),
        expect.stringMatching(/^--max-cost-usd: must be at least 0.000001/),
        '--webhook-url: must be an http(s) URL',
      ]),
    );
    expect(problems).toHaveLength(7);
  });

  it("applies the gateway's own cross-field rule: reasoning needs 3 s at least", () => {
    const r = buildSubmission('Why?', { mode: 'reasoning', latencyBudget: '1s' });
    expect(r.ok ? [] : r.problems).toEqual([
      expect.stringMatching(/^--latency-budget: mode 'reasoning' needs/),
    ]);
  });

  it('reads durations with their unit, a bare number as milliseconds', () => {
    expect([parseDurationMs('1500'), parseDurationMs('30s'), parseDurationMs('1.5h')]).toEqual([
      1500, 30_000, 5_400_000,
    ]);
    expect([parseDurationMs('-1s'), parseDurationMs('3 days'), parseDurationMs('')]).toEqual([
      null,
      null,
      null,
    ]);
  });
});

describe('input text', () => {
  it('reads an argument, a file, and stdin through - or --file -', async () => {
    const r = reader({ 'q.txt': 'from a file\n' }, 'from stdin');
    expect(await readInputText({ arg: 'inline' }, r, 'the input')).toBe('inline');
    expect(await readInputText({ file: 'q.txt' }, r, 'the input')).toBe('from a file\n');
    expect(await readInputText({ arg: '-' }, r, 'the input')).toBe('from stdin');
    expect(await readInputText({ file: '-' }, r, 'the input')).toBe('from stdin');
  });

  it('refuses no source, two sources, an empty input and a missing file as usage errors', async () => {
    const r = reader({ 'empty.txt': '' });
    expect((await refusal(readInputText({}, r, 'the input'))).message).toMatch(/the input is missing/);
    expect((await refusal(readInputText({ arg: 'a', file: 'b' }, r, 'the input'))).message).toMatch(
      /given twice/,
    );
    expect((await refusal(readInputText({ file: 'empty.txt' }, r, 'the input'))).message).toBe(
      'empty.txt is empty',
    );
    const missing = await refusal(readInputText({ file: 'nope.txt' }, r, 'the input'));
    expect([missing.message, missing.exitCode]).toEqual(['cannot read nope.txt: no such file', EXIT.usage]);
  });

  it('refuses a NUL and a lone surrogate naming the line and column, and bytes that are not UTF-8', async () => {
    const r = reader({
      'nul.txt': 'line one\nab\u0000c',
      'latin1.txt': Buffer.from([0x63, 0x61, 0x66, 0xe9]),
      // A surrogate encoded on its own (CESU-8 style) is not UTF-8 either.
      'surrogate.txt': Buffer.from([0x61, 0xed, 0xa0, 0x80]),
    });
    expect((await refusal(readInputText({ file: 'nul.txt' }, r, 'the input'))).message).toMatch(
      /^nul.txt holds a NUL at line 2, column 3/,
    );
    expect((await refusal(readInputText({ file: 'latin1.txt' }, r, 'the input'))).message).toBe(
      'latin1.txt is not valid UTF-8',
    );
    expect((await refusal(readInputText({ file: 'surrogate.txt' }, r, 'the input'))).message).toBe(
      'surrogate.txt is not valid UTF-8',
    );
    expect((await refusal(readInputText({ arg: 'ok \ud800 no' }, r, 'the input'))).message).toMatch(
      /^the input holds a lone surrogate at line 1, column 4/,
    );
  });

  it('refuses an input longer than the gateway accepts with both sizes, and a huge file before reading it', async () => {
    const r = reader({ 'long.txt': 'x'.repeat(1001), 'huge.bin': Buffer.alloc(4001) });
    expect((await refusal(readInputText({ file: 'long.txt' }, r, 'the input', 1000))).message).toBe(
      'long.txt is 1,001 characters; the gateway accepts at most 1,000',
    );
    const huge: InputReader = {
      ...r,
      readFile: () => {
        throw new Error('a huge file must not be read');
      },
    };
    expect((await refusal(readInputText({ file: 'huge.bin' }, huge, 'the input', 1000))).message).toBe(
      'huge.bin is 4,001 bytes: more than 1,000 characters can take, the most the gateway accepts',
    );
  });
});
