import type { Io } from './cli-context';
import { EXIT } from './exit-codes';
import { run } from './program';

// The parsing of whole command lines, up to the point a request would be made: none of these reach the network
// (a request would fail as exit 7, not the usage error each expects).

function io(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const fake: Io = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    errIsTTY: false,
    env: { DELIBERATE_CONFIG: '/nonexistent/deliberate.json', ...env },
    sleep: () => Promise.resolve(),
    now: () => 0,
  };
  return { fake, out: () => out.join(''), err: () => err.join('') };
}

const CONFIGURED = { DELIBERATE_URL: 'http://127.0.0.1:9', DELIBERATE_API_KEY: 'k' };

describe('deliberate command line', () => {
  it('prints help with examples and the exit codes, on every command, and exits 0', async () => {
    for (const argv of [
      ['--help'],
      ['submit', '--help'],
      ['review', 'answer', '--help'],
      ['audit', 'verify-export', '--help'],
    ]) {
      const t = io();
      expect(await run(argv, t.fake)).toBe(EXIT.ok);
      expect(t.out()).toMatch(/Examples:/);
    }
    const t = io();
    await run(['--help'], t.fake);
    expect(t.out()).toMatch(/Exit codes:\n {2}0 {2}ok/);
  });

  it('refuses an unknown command or option, and a missing argument, as usage errors', async () => {
    for (const argv of [['frobnicate'], ['get'], ['submit', 'x', '--nope'], ['review', 'answer']]) {
      const t = io(CONFIGURED);
      expect(await run(argv, t.fake)).toBe(EXIT.usage);
      expect(t.err()).not.toBe('');
    }
  });

  it('writes an error as one JSON line on stderr with --json, and nothing on stdout', async () => {
    const t = io(CONFIGURED);
    expect(await run(['get', '42', '--json'], t.fake)).toBe(EXIT.usage);
    expect(t.out()).toBe('');
    const lines = t.err().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      error: { message: expect.stringMatching(/must be a UUID/), exitCode: EXIT.usage },
    });
    // Unreachable service: exit 7, the reason in JSON.
    const down = io(CONFIGURED);
    expect(await run(['--json', 'get', '0192f0c4-5c5e-7000-8000-000000000001'], down.fake)).toBe(
      EXIT.unavailable,
    );
    expect(JSON.parse(down.err())).toMatchObject({ error: { exitCode: EXIT.unavailable } });
    // Without --json the same error is a line of text.
    const text = io(CONFIGURED);
    await run(['get', '42'], text.fake);
    expect(text.err()).toMatch(/^deliberate: .*must be a UUID/);
  });

  it('refuses a task id that is not a UUID before any request, on every command taking one', async () => {
    for (const argv of [
      ['get', '42'],
      ['cancel', 'x'],
      ['events', '../admin'],
      ['review', 'claim', '1'],
      ['review', 'answer', '1', '--text', 'a'],
      ['spend', '--task', '42'],
    ]) {
      const t = io(CONFIGURED);
      expect(await run(argv, t.fake)).toBe(EXIT.usage);
      expect(t.err()).toMatch(/must be a UUID/);
    }
  });

  it('refuses spend per call without a task, and an unknown grouping, before any request', async () => {
    const perCall = io(CONFIGURED);
    expect(await run(['spend', '--group-by', 'call'], perCall.fake)).toBe(EXIT.usage);
    expect(perCall.err()).toMatch(/--group-by call needs --task <id>/);
    const unknown = io(CONFIGURED);
    expect(
      await run(
        ['spend', '--group-by', 'calls', '--task', '0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10'],
        unknown.fake,
      ),
    ).toBe(EXIT.usage);
    expect(unknown.err()).toMatch(/--group-by: one of model, day, route, tenant, call, not 'calls'/);
  });

  it('says in submit --help which keys see the cost while waiting, and why a submitter key does not', async () => {
    const t = io();
    expect(await run(['submit', '--help'], t.fake)).toBe(EXIT.ok);
    expect(t.out()).toMatch(/only admin and auditor keys may read spend, so with a submitter key/);
    const spend = io();
    expect(await run(['spend', '--help'], spend.fake)).toBe(EXIT.ok);
    expect(spend.out()).toMatch(/--task <id>/);
  });

  it('lists every bad submit option at once, and a missing configuration', async () => {
    const t = io(CONFIGURED);
    expect(
      await run(['submit', 'hi', '--mode', 'slow', '--timeout', 'never', '--metadata', 'x'], t.fake),
    ).toBe(EXIT.usage);
    expect(t.err()).toMatch(/3 problems:/);
    const unconfigured = io();
    expect(await run(['get', '0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10'], unconfigured.fake)).toBe(EXIT.usage);
    expect(unconfigured.err()).toMatch(/no gateway URL.*\n.*no API key/);
  });
});
