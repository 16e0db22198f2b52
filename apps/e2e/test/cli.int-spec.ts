import type { SpendResponse, TaskResponse } from '@deliberate/contracts';
import { buildService, pollUntil } from '@deliberate/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTenant, http, startStack, type TestStack } from './stack';

// The deliberate CLI as a user runs it: the compiled apps/cli, a child process, against the whole stack over HTTP.
// The suite sits with the end-to-end tests since the stack it starts is theirs.

const ROOT = resolve(__dirname, '../../..');
const BIN = join(ROOT, 'apps/cli/bin/deliberate.js');
const NODE = resolve(ROOT, 'node_modules/.bin/node');

let stack: TestStack;
let acme: Awaited<ReturnType<typeof createTenant>>;
let reviewer: string;
let work: string;
let completedId: string;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], key: string, stdin?: string): Promise<CliRun> {
  const child = spawn(NODE, [BIN, ...args], {
    cwd: work,
    env: {
      PATH: process.env['PATH'] ?? '',
      DELIBERATE_URL: stack.url,
      DELIBERATE_API_KEY: key,
      DELIBERATE_CONFIG: join(work, 'no-config.json'),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.end(stdin ?? '');
  return new Promise((r) => child.once('close', (code) => r({ code, stdout, stderr })));
}

const task = async (id: string) =>
  (await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key: acme.submitter })).body;

async function raw(path: string, key: string): Promise<string> {
  const res = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return res.text();
}

beforeAll(async () => {
  buildService('cli');
  work = mkdtempSync(join(tmpdir(), 'deliberate-cli-'));
  stack = await startStack('cli', {}, { audit: { AUDIT_CHECKPOINT_INTERVAL_MS: '500' } });
  acme = await createTenant(stack, 'acme');
  const policy = await http(stack, 'PUT', '/v1/policy', { key: acme.admin, body: { fallback: ['human'] } });
  expect(policy.status).toBe(200);
  const r = await http<{ key: string }>(stack, 'POST', '/v1/admin/tenants/acme/api-keys', {
    key: acme.admin,
    body: { role: 'reviewer' },
  });
  reviewer = r.body.key;
});

afterAll(async () => {
  await stack?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('deliberate CLI against the stack', () => {
  it('submit --wait: a status line per change on stderr, then the answer on stdout, exit 0', async () => {
    const run = await cli(
      [
        'submit',
        'What is the capital of France?',
        '--mode',
        'fast',
        '--metadata',
        'ticket=T-1',
        '--wait',
        '--poll-interval',
        '200ms',
      ],
      acme.submitter,
    );
    expect(run.stderr).toMatch(/^submitted task ([0-9a-f-]{36})\n/);
    completedId = /^submitted task ([0-9a-f-]{36})/.exec(run.stderr)![1]!;
    expect(run.code).toBe(0);
    const lines = run.stderr.trim().split('\n').slice(1);
    // Not a terminal: one plain line per status, the last one completed, no escape codes.
    expect(lines[lines.length - 1]).toMatch(
      new RegExp(`^task ${completedId.slice(0, 8)} completed after \\d+s`),
    );
    expect(new Set(lines).size).toBe(lines.length);
    expect(run.stderr).not.toContain('\x1b');
    // A submitter key may not read spend: its line says nothing of cost, and the wait ends as usual.
    expect(run.stderr).not.toMatch(/booked|\$/);
    const stored = await task(completedId);
    expect(stored.metadata).toEqual({ ticket: 'T-1' });
    expect(run.stdout).toBe(`${stored.result!.answer}\n`);
  });

  it("submit --wait with an admin key: the status line shows the task's cost as the ledger booked it", async () => {
    const run = await cli(
      ['submit', 'What is the capital of Peru?', '--mode', 'fast', '--wait', '--poll-interval', '200ms'],
      acme.admin,
    );
    expect(run.code).toBe(0);
    const id = /^submitted task ([0-9a-f-]{36})/.exec(run.stderr)![1]!;
    const last = run.stderr.trim().split('\n').pop()!;
    const shown = new RegExp(
      `^task ${id.slice(0, 8)} completed after \\d+s.*, \\$(\\d+\\.\\d{6}) booked$`,
    ).exec(last);
    expect({ last, shown: shown !== null }).toEqual({ last, shown: true });
    const ledger = await http<SpendResponse>(stack, 'GET', `/v1/ledger/spend?taskId=${id}&from=2020-01-01`, {
      key: acme.auditor,
    });
    expect(ledger.body.total.costMicroUsd).toBeGreaterThan(0);
    expect(Math.round(Number(shown![1]) * 1_000_000)).toBe(ledger.body.total.costMicroUsd);

    // The same figure in --json, and per call from `spend --task`.
    const json = await cli(['submit', 'Name a river.', '--mode', 'fast', '--wait', '--json'], acme.admin);
    expect(json.code).toBe(0);
    const done = JSON.parse(json.stdout) as TaskResponse & { bookedCostMicroUsd?: number };
    const booked = await http<SpendResponse>(
      stack,
      'GET',
      `/v1/ledger/spend?taskId=${done.id}&from=2020-01-01`,
      {
        key: acme.admin,
      },
    );
    expect(done.bookedCostMicroUsd).toBe(booked.body.total.costMicroUsd);
    const perCall = await cli(
      ['spend', '--task', done.id, '--group-by', 'call', '--from', '2020-01-01', '--json'],
      acme.auditor,
    );
    expect(perCall.code).toBe(0);
    const report = JSON.parse(perCall.stdout) as SpendResponse;
    expect(report.groupBy).toBe('call');
    expect(report.rows.length).toBeGreaterThan(0);
    expect(report.total.costMicroUsd).toBe(booked.body.total.costMicroUsd);
    const unbounded = await cli(['spend', '--group-by', 'call'], acme.auditor);
    expect(unbounded.code).toBe(2);
    expect(unbounded.stderr).toMatch(/--group-by call needs --task/);
  });

  it('--json: the accepted task, then the whole completed task, reading the input from stdin', async () => {
    const accepted = await cli(
      ['submit', '-', '--mode', 'fast', '--json'],
      acme.submitter,
      'Name a prime number.',
    );
    expect(accepted.code).toBe(0);
    const { id, status } = JSON.parse(accepted.stdout);
    expect(status).toBe('accepted');
    const waited = await cli(['get', id, '--json'], acme.submitter);
    expect(waited.code).toBe(0);
    expect(JSON.parse(waited.stdout).id).toBe(id);
    const full = await cli(
      ['submit', 'Name a colour.', '--mode', 'fast', '--wait', '--json'],
      acme.submitter,
    );
    expect(full.code).toBe(0);
    const done = JSON.parse(full.stdout);
    expect(done.status).toBe('completed');
    expect(done).toEqual(await task(done.id));
  });

  it('an unknown key is refused with exit 3 and the API message; a submitter reading the audit is refused too', async () => {
    const unknown = await cli(['get', completedId], 'not-a-key-0123456789');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^deliberate: .+ \(HTTP 401/);
    const wrongRole = await cli(['events', completedId], acme.submitter);
    expect(wrongRole.code).toBe(3);
    expect(wrongRole.stderr).toMatch(/HTTP 403/);
  });

  it('an input over the gateway limits is refused before sending, a missing task is exit 4', async () => {
    writeFileSync(join(work, 'huge.txt'), 'x'.repeat(300_000));
    const huge = await cli(['submit', '--file', 'huge.txt'], acme.submitter);
    expect([huge.code, huge.stderr]).toEqual([
      2,
      'deliberate: huge.txt is 300,000 characters; the gateway accepts at most 200,000\n',
    ]);
    const missing = await cli(['get', '0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10'], acme.submitter);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('not found');
  });

  it("events: the completed task's audit timeline, and --follow stops at its terminal event", async () => {
    const timeline = await cli(['events', completedId], acme.auditor);
    expect(timeline.code).toBe(0);
    expect(timeline.stdout).toMatch(/task\.completed\.v1/);
    const follow = await cli(
      ['events', completedId, '--follow', '--json', '--interval', '200ms'],
      acme.auditor,
    );
    expect(follow.code).toBe(0);
    const entries = follow.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(entries.some((e) => /\.task\.completed\.v1$/.test(e.type))).toBe(true);
    expect(new Set(entries.map((e) => e.seq)).size).toBe(entries.length);
  });

  it('review: a task escalated to a person ends submit --wait with exit 5, then is listed, claimed and answered', async () => {
    const waited = await cli(
      [
        'submit',
        'Decide whether to approve the loan. [[sim:reasoning_tokens=500000]]',
        '--mode',
        'reasoning',
        '--max-thinking-tokens',
        '1000',
        '--wait',
        '--poll-interval',
        '200ms',
      ],
      acme.submitter,
    );
    expect(waited.code).toBe(5);
    expect(waited.stdout).toBe('');
    const id = /^submitted task ([0-9a-f-]{36})/.exec(waited.stderr)![1]!;
    expect(waited.stderr).toContain(`deliberate: task ${id} waits for a human review: limit_hit`);

    const list = await cli(['review', 'list', '--json'], reviewer);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((i: { task: { id: string } }) => i.task.id)).toContain(id);
    const unclaimed = await cli(['review', 'answer', id, '--text', 'Approved'], reviewer);
    expect(unclaimed.code).toBe(2);
    const claim = await cli(['review', 'claim', id], reviewer);
    expect([claim.code, claim.stdout]).toEqual([
      0,
      expect.stringMatching(new RegExp(`^claimed task ${id} until `)),
    ]);
    writeFileSync(join(work, 'answer.md'), 'Approved: income verified.\n');
    const answer = await cli(['review', 'answer', id, '--file', 'answer.md'], reviewer);
    expect([answer.code, answer.stdout]).toEqual([0, `task ${id}: answered\n`]);
    const done = await pollUntil(
      () => task(id),
      (t) => t.status === 'completed',
      { what: 'completed' },
    );
    expect(done.result).toMatchObject({ answeredBy: 'human', answer: 'Approved: income verified.\n' });
  });

  it('audit verify-export: an export and checkpoints from the stack verify (exit 0); one changed line is exit 6, named', async () => {
    type Checkpoints = { checkpoints: { tenantId: string; seq: number }[] };
    await pollUntil(
      async () => JSON.parse(await raw('/v1/audit/checkpoints', acme.auditor)) as Checkpoints,
      (c) => c.checkpoints.some((cp) => cp.tenantId === 'acme'),
      { what: 'a checkpoint of the acme chain', timeoutMs: 30_000, intervalMs: 500 },
    );
    const to = new Date(Date.now() + 60_000).toISOString();
    const exported = await raw(`/v1/audit/export?from=2000-01-01T00:00:00Z&to=${to}`, acme.auditor);
    const checkpoints = await raw('/v1/audit/checkpoints', acme.auditor);
    writeFileSync(join(work, 'export.jsonl'), exported);
    writeFileSync(join(work, 'checkpoints.json'), checkpoints);

    const good = await cli(
      ['audit', 'verify-export', 'export.jsonl', 'checkpoints.json', '--json'],
      'unused',
    );
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    const report = JSON.parse(good.stdout);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.records).toBe(exported.trim().split('\n').length);
    expect(report.chains).toEqual([expect.objectContaining({ tenantId: 'acme', fromSeq: 1 })]);
    expect(report.chains[0].checkpointsMatched).toBeGreaterThan(0);

    const lines = exported.trim().split('\n');
    const third = JSON.parse(lines[2]!);
    lines[2] = JSON.stringify({ ...third, data: { ...(third.data as object), forged: true } });
    writeFileSync(join(work, 'changed.jsonl'), `${lines.join('\n')}\n`);
    const changed = await cli(['audit', 'verify-export', 'changed.jsonl', 'checkpoints.json'], 'unused');
    expect(changed.code).toBe(6);
    expect(changed.stdout).toMatch(
      new RegExp(`^FAILED at line 3, chain acme, seq ${third.seq}: content hash`),
    );
  });
});
