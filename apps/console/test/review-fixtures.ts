import type { TaskResponse } from '@deliberate/contracts';
import { createTenant, http, type TestStack } from '@deliberate/e2e/stack';
import { pollUntil } from '@deliberate/testing';

// What the console's review suites start from: a tenant whose tasks fall back to a person, a reviewer's key, and
// tasks the reasoning model thinks past their cap on, escalated and recorded in the audit trail.

export interface ReviewTenant {
  submitter: string;
  auditor: string;
  admin: string;
  reviewer: string;
}

/** A tenant whose fallback chain ends with a person, and a reviewer's key of it. */
export async function reviewTenant(stack: TestStack, id: string): Promise<ReviewTenant> {
  const keys = await createTenant(stack, id);
  expect(
    (await http(stack, 'PUT', '/v1/policy', { key: keys.admin, body: { fallback: ['human'] } })).status,
  ).toBe(200);
  const reviewer = await http<{ key: string }>(stack, 'POST', `/v1/admin/tenants/${id}/api-keys`, {
    key: keys.admin,
    body: { role: 'reviewer' },
  });
  return { ...keys, reviewer: reviewer.body.key };
}

export function getTask(stack: TestStack, tenant: ReviewTenant, id: string): Promise<TaskResponse> {
  return http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key: tenant.submitter }).then((r) => r.body);
}

/** A task the reasoning model thinks past its cap on, which the tenant's chain sends to a person. */
export async function escalatedTask(stack: TestStack, tenant: ReviewTenant, input: string): Promise<string> {
  const res = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
    key: tenant.submitter,
    body: {
      input,
      mode: 'reasoning',
      maxThinkingTokens: 1_000,
      context: [{ id: 'payslip', title: 'Payslip, November', content: 'Net income 5,200 per month.' }],
    },
  });
  expect(res.status).toBe(202);
  await pollUntil(
    () => getTask(stack, tenant, res.body.id),
    (t) => t.status === 'needs_human',
    { timeoutMs: 30_000, what: 'needs_human' },
  );
  return res.body.id;
}

/** Waits until the audit trail, which the review view reads the model attempts from, holds the reasoning attempt. */
export async function attemptsRecorded(
  stack: TestStack,
  tenant: ReviewTenant,
  taskId: string,
): Promise<void> {
  await pollUntil(
    () =>
      http<{ entries?: { type: string }[] }>(stack, 'GET', `/v1/audit/tasks/${taskId}`, {
        key: tenant.reviewer,
      }),
    (r) => r.status === 200 && (r.body.entries ?? []).some((e) => e.type === 'reasoning.trace.recorded.v1'),
    { what: "the escalated task's trail, as its reviewer reads it" },
  );
}
