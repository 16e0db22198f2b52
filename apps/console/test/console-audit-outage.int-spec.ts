import { http, startStack, type TestStack } from '@deliberate/e2e/stack';
import { pollUntil } from '@deliberate/testing';
import type { Page } from 'playwright-core';
import {
  type Browser,
  CONSOLE_DIR,
  ensureConsoleBuilt,
  launchBrowser,
  recordApiResponses,
  recordPageProblems,
  type SeenResponse,
  signIn,
} from './browser';
import { attemptsRecorded, escalatedTask, getTask, type ReviewTenant, reviewTenant } from './review-fixtures';

// The review view while the audit service is down: the model attempts, read from the audit trail, give way to the
// API's message and a way to ask again; the question, the claim and the answer, which do not need the audit
// service, go on working. Once it is back, asking again shows the attempts.

let stack: TestStack;
let browser: Browser;
let acme: ReviewTenant;
let answeredWhileDown: string;
let retriedOnceBack: string;
// Set while the audit service is stopped: starts it again.
let restartAudit: (() => Promise<void>) | null = null;
const INPUT = 'Decide whether to extend the credit line of applicant 5120. [[sim:reasoning_tokens=500000]]';

async function stopAudit(): Promise<void> {
  restartAudit = (await stack.stop('audit')).start;
}

async function startAudit(): Promise<void> {
  await restartAudit?.();
  restartAudit = null;
}

async function reviewerPage(): Promise<{ page: Page; problems: string[]; seen: SeenResponse[] }> {
  const page = await browser.context.newPage();
  const problems = recordPageProblems(page);
  const seen = recordApiResponses(page);
  await signIn(page, stack.url, acme.reviewer);
  await page.getByRole('heading', { name: 'Review queue' }).waitFor();
  return { page, problems, seen };
}

/** The API answers a page received that were refused or failed, as `status path`. */
const failures = (seen: SeenResponse[]) =>
  seen.filter((r) => r.status >= 400).map((r) => `${r.status} ${new URL(r.url).pathname}`);

// Chromium logs every failed load; the audit timeline's 502s are expected here, and checked through the answers.
const unexpected = (problems: string[]) =>
  problems.filter((p) => !/the server responded with a status of 502/.test(p));

beforeAll(async () => {
  ensureConsoleBuilt();
  stack = await startStack('console-audit-outage', {}, { gateway: { CONSOLE_DIR } });
  acme = await reviewTenant(stack, 'acme');
  answeredWhileDown = await escalatedTask(stack, acme, INPUT);
  retriedOnceBack = await escalatedTask(stack, acme, INPUT);
  // Both trails are recorded before the audit service stops, so the attempts exist to be shown once it is back.
  await attemptsRecorded(stack, acme, answeredWhileDown);
  await attemptsRecorded(stack, acme, retriedOnceBack);
  browser = await launchBrowser();
});

afterEach(async () => {
  await startAudit();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the review view while the audit service does not answer', () => {
  it("shows the API's message with Try again, and the question, claim and answer still work", async () => {
    await stopAudit();
    const { page, problems, seen } = await reviewerPage();
    await page.getByRole('button', { name: `Task ${answeredWhileDown}` }).click();
    const detail = page.getByRole('article');
    const attempts = detail.getByRole('region', { name: 'Model attempts' });
    await attempts.getByText(/^The audit trail did not answer: the audit service did not answer/).waitFor();
    await expect(attempts.getByRole('button', { name: 'Try again' }).isVisible()).resolves.toBe(true);
    await expect(attempts.locator('ol.timeline').count()).resolves.toBe(0);
    // Asking again while it is still down says the same, and nothing else breaks.
    await attempts.getByRole('button', { name: 'Try again' }).click();
    await attempts.getByText(/^The audit trail did not answer: /).waitFor();

    const question = detail.getByRole('region', { name: 'Question' });
    await expect(question.getByText(INPUT).isVisible()).resolves.toBe(true);
    await expect(question.getByText('Payslip, November').isVisible()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Claim', exact: true }).click();
    await page.getByText(/Claim expires in \d+:\d\d/).waitFor();
    const answer = 'Decline: the credit line would exceed a third of the net income.';
    await page.getByLabel('Answer').fill(answer);
    await page.getByRole('button', { name: 'Send answer' }).click();
    const answered = page.getByRole('region', { name: `Answered task ${answeredWhileDown}` });
    await answered.waitFor();
    await expect(answered.getByText(answer).isVisible()).resolves.toBe(true);
    const done = await pollUntil(
      () => getTask(stack, acme, answeredWhileDown),
      (t) => t.status === 'completed',
      { what: 'the human answer' },
    );
    expect(done.result).toMatchObject({ answeredBy: 'human', answer });

    // The two loads of the attempts failed, and nothing else did.
    expect(failures(seen)).toEqual([
      `502 /v1/audit/tasks/${answeredWhileDown}`,
      `502 /v1/audit/tasks/${answeredWhileDown}`,
    ]);
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('shows the model attempts on Try again once the audit service is back', async () => {
    await stopAudit();
    const { page, problems } = await reviewerPage();
    await page.getByRole('button', { name: `Task ${retriedOnceBack}` }).click();
    const attempts = page.getByRole('article').getByRole('region', { name: 'Model attempts' });
    await attempts.getByText(/^The audit trail did not answer: /).waitFor();

    await startAudit();
    // The gateway reaches the audit service again before the view is asked to.
    await pollUntil(
      () => http(stack, 'GET', `/v1/audit/tasks/${retriedOnceBack}`, { key: acme.reviewer }),
      (r) => r.status === 200,
      { what: 'the audit service, back' },
    );
    await attempts.getByRole('button', { name: 'Try again' }).click();
    const steps = attempts.locator('ol.timeline');
    await steps.waitFor();
    const titles = (await steps.locator('h3').allInnerTexts()).join('\n');
    expect(titles).toMatch(/Model call: sim-reasoner/);
    expect(titles).toMatch(/Reasoning attempt 1: sim-reasoner/);
    await expect(attempts.getByText(/^The audit trail did not answer/).count()).resolves.toBe(0);
    await expect(attempts.getByRole('button', { name: 'Try again' }).count()).resolves.toBe(0);
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });
});
