import { pollUntil, type ReceivedRequest, type Receiver, startReceiver } from '@deliberate/testing';
import { Webhook } from 'standardwebhooks';
import { createTenant, http, startStack, type TestStack } from './stack';

// A client learns of its finished task by webhook: submitted over HTTP with a webhookUrl, answered by the fast
// path, delivered signed to a local receiver; and the same event reaches an endpoint registered through the gateway.

let stack: TestStack;
let keys: Awaited<ReturnType<typeof createTenant>>;
let receiver: Receiver;
let receiverUrl: string;
let received: ReceivedRequest[];

beforeAll(async () => {
  stack = await startStack('webhooks-e2e');
  keys = await createTenant(stack, 'hooked');
  receiver = await startReceiver(() => ({ status: 204, body: '' }));
  receiverUrl = receiver.url;
  received = receiver.requests;
});

afterAll(async () => {
  await receiver?.close();
  await stack?.close();
});

const standardHeaders = (r: ReceivedRequest) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});

it('delivers a signed task.completed to the task webhookUrl and to a registered endpoint', async () => {
  const secret = await http<{ secret: string }>(stack, 'POST', '/v1/webhooks/task-secret', {
    key: keys.admin,
  });
  expect(secret.status).toBe(201);
  const endpoint = await http<{ id: string; secret: string }>(stack, 'POST', '/v1/webhooks/endpoints', {
    key: keys.admin,
    body: { url: `${receiverUrl}/endpoint`, eventTypes: ['task.completed'] },
  });
  expect(endpoint.status).toBe(201);
  const submitterMayNot = await http(stack, 'GET', '/v1/webhooks/endpoints', { key: keys.submitter });
  expect(submitterMayNot.status).toBe(403);

  const submitted = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
    key: keys.submitter,
    body: {
      input: 'What is the capital of France?',
      webhookUrl: `${receiverUrl}/task`,
      metadata: { ref: 'R-9' },
    },
  });
  expect(submitted.status).toBe(202);
  const taskId = submitted.body.id;

  const [toTask, toEndpoint] = await pollUntil(
    () =>
      Promise.resolve([
        received.find((r) => r.path === '/task' && r.body.includes(taskId)),
        received.find((r) => r.path === '/endpoint' && r.body.includes(taskId)),
      ]),
    ([a, b]) => a !== undefined && b !== undefined,
    { timeoutMs: 60_000, what: 'both webhooks' },
  );
  const payload = new Webhook(secret.body.secret).verify(toTask!.body, standardHeaders(toTask!));
  expect(payload).toMatchObject({
    type: 'task.completed',
    data: { taskId, status: 'completed', metadata: { ref: 'R-9' } },
  });
  expect((payload as { data: { result: { answer: string } } }).data.result.answer.length).toBeGreaterThan(0);
  expect(() =>
    new Webhook(endpoint.body.secret).verify(toEndpoint!.body, standardHeaders(toEndpoint!)),
  ).not.toThrow();
  expect(() => new Webhook(endpoint.body.secret).verify(toTask!.body, standardHeaders(toTask!))).toThrow();

  // The receiver has answered; the dispatcher records the attempts right after.
  const log = await pollUntil(
    () =>
      http<{ deliveries: { taskId: string; status: string }[] }>(
        stack,
        'GET',
        `/v1/webhooks/deliveries?taskId=${taskId}`,
        { key: keys.auditor },
      ),
    (r) =>
      r.status === 200 &&
      r.body.deliveries.length === 2 &&
      r.body.deliveries.every((d) => d.status === 'delivered'),
    { what: 'both deliveries recorded' },
  );
  expect(log.status).toBe(200);
  expect(log.body.deliveries.map((d) => d.status)).toEqual(['delivered', 'delivered']);
});
