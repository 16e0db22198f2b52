import { buildService, killService, pollUntil, type ServiceProcess, spawnService } from '@deliberate/testing';
import {
  type Delivery,
  header,
  newTask,
  startWebhooks,
  tenantPrincipal,
  type WebhooksHarness,
} from './webhooks-harness';

describe('dispatcher crash after the receiver answered 2xx (child processes)', () => {
  let h: WebhooksHarness;
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;

  beforeAll(async () => {
    buildService('webhooks');
    // In this process: the API and the schema, but no dispatcher; the children send.
    h = await startWebhooks('webhooks-crash', { env: { WEBHOOKS_DISPATCHER_ENABLED: 'false' } });
  }, 180_000);

  afterAll(async () => {
    await killService(first);
    await killService(second);
    await h?.close();
  });

  const childEnv = () => ({
    ...h.env,
    WEBHOOKS_DISPATCHER_ENABLED: 'true',
    WEBHOOKS_PORT: '0',
    WEBHOOKS_TIMEOUT_MS: '1500',
    WEBHOOKS_LEASE_MS: '2500',
    LOG_LEVEL: 'info',
  });

  it('sends the attempt again, with the same webhook-id, and ends delivered', async () => {
    await h.registerEndpoint('crash', `${h.receiver.url}/hook`);
    let answered!: () => void;
    const firstAnswered = new Promise<void>((r) => (answered = r));
    // The first request gets its 200 status line and headers, but not the end of the body: the dispatcher is
    // killed while it waits for it, after the receiver has accepted the webhook but before anything is recorded.
    h.receiver.behave((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      response.write('accepted');
      answered();
      return 'handled';
    });
    first = spawnService('webhooks', childEnv());
    await pollUntil(
      () => Promise.resolve(first!.output.join('')),
      (out) => out.includes('"msg":"listening"'),
      { timeoutMs: 60_000, what: 'the first child to start' },
    );
    const task = newTask('crash');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    await firstAnswered;
    first.proc.kill('SIGKILL');
    await first.exited;
    h.receiver.behave(() => ({ status: 200 }));

    const [before] = (
      await h.db.query<{ status: string; attempts: number }>(`SELECT status, attempts FROM messages`)
    ).rows;
    expect(before).toEqual({ status: 'pending', attempts: 1 });

    second = spawnService('webhooks', childEnv());
    const list = await pollUntil(
      () =>
        h.http<{ deliveries: Delivery[] }>('GET', '/v1/webhooks/deliveries', {
          principal: tenantPrincipal('crash'),
        }),
      (r) => r.body.deliveries[0]?.status === 'delivered',
      { timeoutMs: 60_000, what: 'the delivery after the lease expired' },
    );
    const id = list.body.deliveries[0]!.id;
    expect(h.receiver.requests.map((r) => header(r, 'webhook-id'))).toEqual([id, id]);
    const detail = await h.http<Delivery>('GET', `/v1/webhooks/deliveries/${id}`, {
      principal: tenantPrincipal('crash'),
    });
    // Attempt 1 died with its dispatcher and left no record; attempt 2 is the redelivery.
    expect(detail.body.attemptLog.map((a) => [a.attempt, a.outcome, a.httpStatus])).toEqual([
      [2, 'delivered', 200],
    ]);
  });
});
