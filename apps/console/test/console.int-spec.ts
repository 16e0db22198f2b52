import type { DenialList, ShadowReportResponse, SpendResponse } from '@deliberate/contracts';
import { createTenant, http, startStack, type TestStack } from '@deliberate/e2e/stack';
import { pollUntil, type Receiver, startReceiver } from '@deliberate/testing';
import { Client } from 'pg';
import type { Page } from 'playwright-core';
import {
  type Browser,
  CONSOLE_DIR,
  ensureConsoleBuilt,
  launchBrowser,
  recordApiResponses,
  recordPageProblems,
  screenshot,
  signIn,
} from './browser';
import { attemptsRecorded, escalatedTask, getTask, type ReviewTenant, reviewTenant } from './review-fixtures';
import { formatMicros } from '../src/api/format';

// The console in a real browser against the whole stack: a reviewer answers an escalated task, an auditor reads its
// timeline and sees verification fail after a record is tampered with, an admin reads spend and replays a dead
// letter, and a key of another tenant sees none of it, not even in the answers its page received.

let stack: TestStack;
let browser: Browser;
let acme: ReviewTenant;
let escalatedId: string;
let receiver: Receiver;
const ANSWER = 'Approve: income covers the instalments twice over.';
const INPUT = 'Decide whether to approve the loan for applicant 4411. [[sim:reasoning_tokens=500000]]';

const task = (id: string) => getTask(stack, acme, id);

async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.context.newPage();
  return { page, problems: recordPageProblems(page) };
}

beforeAll(async () => {
  ensureConsoleBuilt();
  stack = await startStack('console', {}, { gateway: { CONSOLE_DIR } });
  acme = await reviewTenant(stack, 'acme');
  escalatedId = await escalatedTask(stack, acme, INPUT);
  browser = await launchBrowser();
});

afterAll(async () => {
  await receiver?.close();
  await browser?.close();
  await stack?.close();
});

describe('the console', () => {
  it('lets a reviewer claim and answer an escalated task, which then completes with the human answer', async () => {
    // The audit trail, which the review view reads the model attempts from, records the escalation a moment later.
    await attemptsRecorded(stack, acme, escalatedId);
    const { page, problems } = await newPage();
    await signIn(page, stack.url, acme.reviewer);
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    await page.getByRole('button', { name: `Task ${escalatedId}` }).click();
    const detail = page.getByRole('article');
    await expect(
      detail
        .getByText(/^limit_hit/)
        .first()
        .isVisible(),
    ).resolves.toBe(true);
    // What the models made of it: the reasoning attempt, its outcome and tokens, and the call behind it.
    const attempts = detail.getByRole('region', { name: 'Model attempts' }).locator('ol.timeline');
    await attempts.waitFor();
    const attemptTitles = (await attempts.locator('h3').allInnerTexts()).join('\n');
    expect(attemptTitles).toMatch(/Model call: sim-reasoner/);
    expect(attemptTitles).toMatch(/Reasoning attempt 1: sim-reasoner/);
    await expect(attempts.getByText(/^limit_hit, output \w+$/).isVisible()).resolves.toBe(true);
    await expect(attempts.getByText('Reasoning tokens').first().isVisible()).resolves.toBe(true);
    await expect(attempts.getByText(/Prompt as the model saw it/).isVisible()).resolves.toBe(true);
    // The question, apart from the prompts of the model attempts above, which repeat its text.
    const question = detail.getByRole('region', { name: 'Question' });
    await expect(question.getByText(INPUT).isVisible()).resolves.toBe(true);
    await expect(question.getByText('Payslip, November').isVisible()).resolves.toBe(true);

    // Answering before claiming is refused with the API's own message.
    await page.getByLabel('Answer').fill(ANSWER);
    await page.getByRole('button', { name: 'Send answer' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: `claim task ${escalatedId} before answering it` })
      .waitFor();

    await page.getByRole('button', { name: 'Claim', exact: true }).click();
    await page.getByText(/Claim expires in \d+:\d\d/).waitFor();
    await screenshot(page, 'review');
    await page.getByRole('button', { name: 'Send answer' }).click();
    const answered = page.getByRole('region', { name: `Answered task ${escalatedId}` });
    await answered.waitFor();
    await expect(answered.getByText(ANSWER).isVisible()).resolves.toBe(true);
    // The reviewer sees the task itself complete with the answer, as the gateway lets a reviewer read it.
    await answered.getByText('Status: completed — answered by a person').waitFor();
    await screenshot(page, 'review-answered');

    const done = await pollUntil(
      () => task(escalatedId),
      (t) => t.status === 'completed',
      { what: 'the human answer' },
    );
    expect(done.result).toMatchObject({ answeredBy: 'human', answer: ANSWER });
    // The queue no longer lists it.
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('No task is waiting for review.').waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows an auditor a task's timeline: triage, the reasoning trace, tokens, escalation and the human answer", async () => {
    const reasoned = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      body: { input: 'Compare two repayment plans for applicant 4411 over ten years.', mode: 'reasoning' },
    });
    await pollUntil(
      () => task(reasoned.body.id),
      (t) => t.status === 'completed',
      { timeoutMs: 30_000, what: 'the reasoning answer' },
    );
    const audited = (id: string, type: string) =>
      pollUntil(
        async () =>
          (
            await http<{ entries?: { type: string }[] }>(stack, 'GET', `/v1/audit/tasks/${id}`, {
              key: acme.auditor,
            })
          ).body.entries ?? [],
        (entries) => entries.some((e) => e.type === type),
        { what: `${type} in the audit trail of ${id}` },
      );
    await audited(reasoned.body.id, 'reasoning.trace.recorded.v1');
    await audited(reasoned.body.id, 'tasks.task.completed.v1');
    await audited(reasoned.body.id, 'usage.model-call.recorded.v1');
    // What the ledger booked for the task's one model call, which its step must show.
    const booked = await pollUntil(
      async () =>
        (
          await http<SpendResponse>(
            stack,
            'GET',
            `/v1/ledger/spend?groupBy=call&taskId=${reasoned.body.id}&from=2020-01-01`,
            { key: acme.auditor },
          )
        ).body.rows ?? [],
      (rows) => rows.length === 1 && rows[0]!.key !== 'unattributed',
      { what: "the ledger's booking of the reasoning call" },
    );
    await audited(escalatedId, 'tasks.task.completed.v1');

    const { page, problems } = await newPage();
    await signIn(page, stack.url, acme.auditor);
    await page.getByRole('link', { name: 'Task timeline' }).click();
    await page.getByRole('button', { name: reasoned.body.id }).click();
    const timeline = page.locator('ol.timeline');
    await timeline.waitFor();
    const titles = (await timeline.locator('h3').allInnerTexts()).join('\n');
    expect(titles).toMatch(/Accepted[\s\S]*Triage decision[\s\S]*Reasoning attempt 1[\s\S]*Answered/);
    // The trace is text to read, not JSON.
    const trace = timeline.locator('.detail', {
      has: page.getByRole('heading', { name: 'Reasoning trace' }),
    });
    const traceText = await trace.locator('pre').first().innerText();
    expect(traceText.length).toBeGreaterThan(20);
    expect(traceText).not.toMatch(/^[{[]/);
    await expect(timeline.getByText('Reasoning tokens').first().isVisible()).resolves.toBe(true);
    await expect(page.getByText('Time in model calls').isVisible()).resolves.toBe(true);
    // The task's cost, from the ledger's bookings of its calls.
    const cost = page.locator('dl.summary dt', { hasText: 'Cost' }).locator('xpath=following-sibling::dd[1]');
    await cost.waitFor();
    expect(await cost.innerText()).toMatch(/^\$\d+\.\d+ \(sim-reasoner \$\d+\.\d+\)$/);
    // Each model call's step shows its tokens, latency and what the ledger booked for it.
    const call = timeline.locator('li.step', { has: page.getByRole('heading', { name: /^Model call: / }) });
    expect(await call.count()).toBe(1);
    const callCost = call.locator('dt', { hasText: 'Cost booked' }).locator('xpath=following-sibling::dd[1]');
    await callCost.waitFor();
    expect(await callCost.innerText()).toBe(formatMicros(booked[0]!.costMicroUsd));
    expect(booked[0]!.costMicroUsd).toBeGreaterThan(0);
    await expect(call.getByText('Latency').isVisible()).resolves.toBe(true);
    await screenshot(page, 'timeline');

    // The escalated task: its escalation and the reviewer's answer. Its address can be shared and reloaded.
    await page.getByLabel('Task id').fill(escalatedId);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('heading', { name: `Task ${escalatedId}` }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/console/tasks/${escalatedId}`);
    await page.reload();
    const escalated = page.locator('ol.timeline');
    await escalated.waitFor();
    const steps = (await escalated.locator('h3').allInnerTexts()).join('\n');
    expect(steps).toMatch(/Escalated to a person[\s\S]*Answered by a person/);
    await expect(escalated.getByText(ANSWER).first().isVisible()).resolves.toBe(true);
    await screenshot(page, 'timeline-human');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows an admin the spend chart and its denials, and replays a dead-lettered webhook delivery', async () => {
    // An endpoint that fails every attempt until told otherwise: the task's webhook is dead-lettered.
    receiver = await startReceiver(() => ({ status: 500, body: 'down for maintenance' }));
    const endpoint = await http(stack, 'POST', '/v1/webhooks/endpoints', {
      key: acme.admin,
      body: { url: `${receiver.url}/hooks`, eventTypes: ['task.completed'] },
    });
    expect(endpoint.status).toBe(201);
    const submitted = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      body: { input: 'Say hello to the console.', mode: 'fast' },
    });
    await pollUntil(
      () => task(submitted.body.id),
      (t) => t.status === 'completed',
      { what: 'the fast answer' },
    );
    const deliveries = async () =>
      (
        await http<{ deliveries: { id: string; taskId: string; status: string }[] }>(
          stack,
          'GET',
          `/v1/webhooks/deliveries?taskId=${submitted.body.id}`,
          { key: acme.admin },
        )
      ).body.deliveries;
    const [dead] = await pollUntil(deliveries, (d) => d[0]?.status === 'dead_lettered', {
      timeoutMs: 30_000,
      what: 'the dead letter',
    });
    receiver.behave(() => ({ status: 204, body: '' }));
    // A task whose own ceiling (one micro-USD) is below any call: the ledger refuses its first reservation.
    const capped = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      body: { input: 'Say hello within one micro-dollar.', mode: 'fast', maxCostUsd: 0.000001 },
    });
    expect(capped.status).toBe(202);
    const [denial] = await pollUntil(
      async () =>
        (
          await http<DenialList>(stack, 'GET', `/v1/ledger/denials?taskId=${capped.body.id}`, {
            key: acme.admin,
          })
        ).body.denials ?? [],
      (d) => d.length > 0,
      { timeoutMs: 30_000, what: 'the denial of the capped task' },
    );
    expect(denial).toMatchObject({ reason: 'task_ceiling_exceeded', tier: 'fast' });

    // Shadow evaluation of every reasoning task on the standard model, through the gateway's /v1/shadow proxy.
    const policy = await http<{ policy: Record<string, unknown> }>(stack, 'GET', '/v1/policy', {
      key: acme.admin,
    });
    const shadowed = await http(stack, 'PUT', '/v1/policy', {
      key: acme.admin,
      body: {
        ...policy.body.policy,
        shadow: { model: 'sim-standard', serviceTier: 'default', sampleRate: 1, dailyBudgetUsd: 1 },
      },
    });
    expect(shadowed.status).toBe(200);
    // The reasoner reads the policy from its event: a task finished before it does gets no shadow run.
    const shadowReport = await pollUntil(
      async () => {
        const reasoned = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
          key: acme.submitter,
          body: { input: 'Compare me. [[sim:answer=Hello]]', mode: 'reasoning' },
        });
        await pollUntil(
          () => task(reasoned.body.id),
          (t) => t.status === 'completed',
          { what: 'the reasoning answer' },
        );
        return pollUntil(
          () => http<ShadowReportResponse>(stack, 'GET', '/v1/shadow/report', { key: acme.admin }),
          (r) => r.status !== 200 || r.body.tasksCompared > 0,
          { timeoutMs: 10_000, what: 'a shadow comparison' },
        ).catch(() => null);
      },
      (r) => r !== null,
      { timeoutMs: 90_000, what: 'a task compared by the shadow route' },
    );
    expect(shadowReport!.body).toMatchObject({
      tenantId: 'acme',
      agreement: { agreed: shadowReport!.body.tasksCompared },
      shadow: { models: ['sim-standard'] },
    });

    const { page, problems } = await newPage();
    await signIn(page, stack.url, acme.admin);
    await page.getByRole('link', { name: 'Spend' }).click();
    const shadow = page.getByRole('region', { name: 'Shadow evaluation' });
    await shadow.getByText(/^\d+ tasks? compared\. Agreement: 100\.0% \(/).waitFor();
    const sides = shadow.getByRole('table', { name: 'Live and shadow' });
    await expect(
      sides
        .getByRole('row', { name: /^Models/ })
        .getByRole('cell')
        .allInnerTexts(),
    ).resolves.toEqual(['sim-reasoner', 'sim-standard']);
    await page.getByRole('img', { name: /^Cost per day: \d{4}-\d\d-\d\d \$/ }).waitFor();
    await page.getByRole('img', { name: /^Cost per model: / }).waitFor();
    const perModel = page.getByRole('table', { name: 'Cost per model (table)' });
    await expect(perModel.getByRole('rowheader').count()).resolves.toBeGreaterThan(1);
    const denials = page.getByRole('region', { name: 'Denials' });
    const row = denials
      .getByRole('row')
      .filter({ has: page.getByRole('button', { name: `Task ${denial!.taskId}` }) });
    await row.waitFor();
    await expect(row.getByRole('cell').allInnerTexts()).resolves.toEqual([
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/),
      `${denial!.taskId.slice(0, 8)}…`,
      denial!.model,
      'fast',
      expect.stringMatching(/^task_ceiling_exceeded/),
      denial!.message,
      formatMicros(denial!.estimatedCostMicroUsd),
    ]);
    await expect(denials.getByRole('button', { name: 'Older' }).isDisabled()).resolves.toBe(true);
    await screenshot(page, 'spend');

    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByLabel('Status').selectOption('dead_lettered');
    await page.getByRole('button', { name: `Attempts of ${dead!.id}` }).click();
    const detail = page.getByRole('region', { name: `Delivery ${dead!.id}` });
    await detail.getByText('down for maintenance').first().waitFor();
    await screenshot(page, 'webhooks');
    await page.getByRole('button', { name: `Replay ${dead!.id}` }).click();
    await page.getByText(`Delivery ${dead!.id} is queued again`).waitFor();
    await pollUntil(deliveries, (d) => d[0]?.status === 'delivered', { what: 'the replayed delivery' });
    expect(receiver.requests.at(-1)!.headers['webhook-id']).toBe(dead!.id);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the verdict of verification, and the first broken link once a record was changed', async () => {
    const { page, problems } = await newPage();
    await signIn(page, stack.url, acme.auditor);
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText(/^Intact: /).waitFor();

    // A superuser with triggers off rewrites one record of acme's chain, as an intruder with database access would.
    const client = new Client({ connectionString: stack.databaseUrl, options: '-c search_path=audit' });
    await client.connect();
    let tampered: number;
    try {
      await client.query('SET session_replication_role = replica');
      const { rows } = await client.query<{ seq: string }>(
        `UPDATE records SET content = replace(content, ':', ': ') WHERE tenant_id = 'acme' AND seq = 3 RETURNING seq`,
      );
      expect(rows).toHaveLength(1);
      tampered = Number(rows[0]!.seq);
    } finally {
      await client.end();
    }
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText(`Broken: the first broken link is at seq ${tampered}`, { exact: false }).waitFor();
    await page.getByLabel('Full text').fill('loan');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText(/records on page 1/).waitFor();
    await screenshot(page, 'audit');
    expect(problems).toEqual([]);
    await page.close();
  });

  it("pages through a tenant's tasks in the timeline's task list, fifty at a time", async () => {
    const pager = await createTenant(stack, 'pager');
    // Submitted ten at a time: one after another they took most of the test's time on a loaded machine.
    const ids: string[] = [];
    for (let batch = 0; batch < 51; batch += 10) {
      const accepted = await Promise.all(
        Array.from({ length: Math.min(10, 51 - batch) }, (_, i) =>
          http<{ id: string }>(stack, 'POST', '/v1/tasks', {
            key: pager.submitter,
            body: { input: `Task ${batch + i} of the pager.`, mode: 'fast' },
          }),
        ),
      );
      for (const res of accepted) {
        expect(res.status).toBe(202);
        ids.push(res.body.id);
      }
    }
    await pollUntil(
      async () =>
        (
          await http<{ items?: unknown[] }>(
            stack,
            'GET',
            '/v1/audit/events?type=tasks.task.accepted.v1&limit=500',
            { key: pager.auditor },
          )
        ).body.items ?? [],
      (items) => items.length === 51,
      { timeoutMs: 120_000, what: "the pager's 51 accepted tasks in the audit trail" },
    );
    const { page, problems } = await newPage();
    await signIn(page, stack.url, pager.auditor);
    await page.getByRole('link', { name: 'Task timeline' }).click();
    const listed = () => page.locator('ul.recent button').allInnerTexts();
    await page.getByRole('heading', { name: 'Tasks (oldest first, page 1)' }).waitFor();
    await page.locator('ul.recent button').first().waitFor();
    const first = await listed();
    expect(first).toHaveLength(50);
    await expect(page.getByRole('button', { name: 'Previous tasks' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Next tasks' }).click();
    await page.getByRole('heading', { name: 'Tasks (oldest first, page 2)' }).waitFor();
    await pollUntil(listed, (l) => l.length === 1, { what: 'the second page of tasks' });
    const second = await listed();
    // Every task once, on one page or the other.
    expect([...first, ...second].sort()).toEqual([...ids].sort());
    await expect(page.getByRole('button', { name: 'Next tasks' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Previous tasks' }).click();
    await page.getByRole('heading', { name: 'Tasks (oldest first, page 1)' }).waitFor();
    await pollUntil(listed, (l) => l.length === 50, { what: 'the first page again' });
    expect(await listed()).toEqual(first);
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);

  it("shows a key of another tenant nothing of this tenant's tasks", async () => {
    const globex = await createTenant(stack, 'globex');
    const { page, problems } = await newPage();
    const seen = recordApiResponses(page);
    await signIn(page, stack.url, globex.auditor);
    await page.goto(`${stack.url}/console/tasks/${escalatedId}`);
    await page.getByRole('alert').waitFor();
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit', exact: true }).waitFor();
    await page.waitForLoadState('networkidle');
    const body = await page.locator('body').innerText();
    expect(body).not.toContain(ANSWER);
    expect(body).not.toContain('applicant 4411');
    expect(seen.length).toBeGreaterThan(0);
    for (const res of seen) {
      expect({
        url: res.url,
        leaked: res.body.includes('applicant 4411') || res.body.includes(ANSWER),
      }).toEqual({
        url: res.url,
        leaked: false,
      });
      if (res.url.includes(escalatedId))
        expect({ url: res.url, status: res.status }).toEqual({ url: res.url, status: 404 });
      expect(res.body).not.toContain('"tenantId":"acme"');
    }
    expect(problems).toEqual([]);
    await page.close();
  });
});
