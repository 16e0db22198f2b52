import { pollUntil } from '@deliberate/testing';
import {
  type Delivery,
  newTask,
  startWebhooks,
  tenantPrincipal,
  type WebhooksHarness,
} from './webhooks-harness';

// A receiver answers what it likes. A NUL, or a character cut in two by the snippet limit, in one receiver's answer
// must neither fail the record of the attempts dispatched with it (other tenants' included) nor be stored as sent.

let h: WebhooksHarness;

beforeAll(async () => {
  h = await startWebhooks('webhooks-hostile-receiver');
  h.receiver.behave((request) => {
    if (request.path === '/nul') return { status: 200, body: 'accepted\u0000but hostile' };
    // 999 letters then an emoji: a 1,000-character cut falls between the emoji's two UTF-16 halves.
    if (request.path === '/split') return { status: 200, body: `${'a'.repeat(999)}😀 and more` };
    return { status: 200, body: 'fine' };
  });
});

afterAll(async () => {
  await h?.close();
});

async function deliveredTo(tenantId: string): Promise<Delivery> {
  const list = async () =>
    (
      await h.http<{ deliveries: Delivery[] }>('GET', '/v1/webhooks/deliveries', {
        principal: tenantPrincipal(tenantId, 'auditor'),
      })
    ).body.deliveries ?? [];
  const [summary] = await pollUntil(list, (d) => d.length > 0 && d[0]!.status === 'delivered', {
    timeoutMs: 20_000,
    what: `a delivered webhook for ${tenantId}`,
  });
  return (
    await h.http<Delivery>('GET', `/v1/webhooks/deliveries/${summary!.id}`, {
      principal: tenantPrincipal(tenantId, 'auditor'),
    })
  ).body;
}

it('records every attempt of a batch when one receiver answers a NUL and another a cut emoji', async () => {
  const tenants = { nul: 'hostile-nul', split: 'hostile-split', ok: 'plain-ok' };
  await h.registerEndpoint(tenants.nul, `${h.receiver.url}/nul`);
  await h.registerEndpoint(tenants.split, `${h.receiver.url}/split`);
  await h.registerEndpoint(tenants.ok, `${h.receiver.url}/ok`);
  const tasks = Object.values(tenants).map((tenantId) => newTask(tenantId));
  // Accepted first, then the completions at once, so the dispatcher claims the three attempts together.
  await Promise.all(tasks.map((t) => h.publishAccepted(t)));
  await Promise.all(tasks.map((t) => h.publishTerminal(t, 'completed')));

  const ok = await deliveredTo(tenants.ok);
  expect(ok.attemptLog[0]!.responseSnippet).toBe('fine');
  const nul = await deliveredTo(tenants.nul);
  expect(nul.attemptLog[0]!.responseSnippet).toBe('accepted\uFFFDbut hostile');
  const split = await deliveredTo(tenants.split);
  expect(split.attemptLog[0]!.responseSnippet).toBe('a'.repeat(999));
  // Recorded the first time: no attempt was lost to a failed batch and sent again.
  for (const d of [ok, nul, split]) expect(d.attemptLog).toHaveLength(1);
});
