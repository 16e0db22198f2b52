import { pollUntil } from '@deliberate/testing';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { newTask, startWebhooks, tenantPrincipal, type WebhooksHarness } from './webhooks-harness';

// A delivery attempt is a span in the trace of the task it announces: the terminal event's trace context is kept
// with the event and its messages, and each attempt starts its span under it, however long after.

describe('webhook delivery tracing (real Kafka and Postgres)', () => {
  const spans = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter: spans });
  const provider = new TracerProvider({ spanProcessors: [processor] });
  let h: WebhooksHarness;

  beforeAll(async () => {
    // A tracer whose spans this suite can read, in place of the integration setup's silent one.
    trace.disable();
    trace.setGlobalTracerProvider(provider);
    h = await startWebhooks('webhooks-tracing');
    const secret = await h.http('POST', '/v1/webhooks/task-secret', { principal: tenantPrincipal('traced') });
    expect(secret.status).toBe(201);
  });

  afterAll(async () => {
    await h?.close();
    trace.disable();
    trace.setGlobalTracerProvider(new TracerProvider());
  });

  async function deliverySpans(taskId: string, count = 1) {
    return pollUntil(
      async () => {
        await processor.forceFlush();
        return spans
          .getFinishedSpans()
          .filter((s) => s.name === 'webhook deliver' && s.attributes['deliberate.task_id'] === taskId)
          .sort(
            (a, b) =>
              Number(a.attributes['deliberate.webhook.attempt']) -
              Number(b.attributes['deliberate.webhook.attempt']),
          );
      },
      (found) => found.length >= count,
      { timeoutMs: 20_000, what: `the delivery span of task ${taskId}` },
    );
  }

  it("puts every delivery attempt in the trace of the task's terminal event, a retry made later included", async () => {
    // The first attempt fails: the retry is sent by the dispatcher's poller, outside any consumer's context.
    let calls = 0;
    h.receiver.behave(() => ({ status: calls++ === 0 ? 503 : 200 }));
    const task = newTask('traced', `${h.receiver.url}/traced`);
    await h.publishAccepted(task);
    const producer = trace.getTracer('test').startSpan('task completes');
    await context.with(trace.setSpan(context.active(), producer), () => h.publishTerminal(task, 'completed'));
    producer.end();

    const attempts = await deliverySpans(task.taskId, 2);
    expect(attempts.map((s) => s.spanContext().traceId)).toEqual([
      producer.spanContext().traceId,
      producer.spanContext().traceId,
    ]);
    expect(attempts.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 200]);
    expect(attempts[1]!.attributes).toMatchObject({
      'deliberate.webhook.outcome': 'delivered',
      'deliberate.webhook.event_type': 'task.completed',
      'deliberate.webhook.attempt': 2,
    });
    h.receiver.behave(() => ({ status: 200 }));
    const stored = await h.db.query<{ traceparent: string }>(
      `SELECT traceparent FROM messages WHERE task_id = $1`,
      [task.taskId],
    );
    expect(stored.rows[0]!.traceparent).toContain(producer.spanContext().traceId);
  });

  it('delivers an event that came without a trace in the trace its consumption started, and stores no malformed traceparent', async () => {
    const task = newTask('traced', `${h.receiver.url}/untraced`);
    await h.publishAccepted(task);
    await context.with(trace.deleteSpan(context.active()), () => h.publishTerminal(task, 'completed'));

    const [span] = await deliverySpans(task.taskId);
    expect(span!.attributes['deliberate.webhook.outcome']).toBe('delivered');
    const stored = await h.db.query<{ traceparent: string }>(
      `SELECT traceparent FROM messages WHERE task_id = $1`,
      [task.taskId],
    );
    expect(stored.rows[0]!.traceparent.split('-')[1]).toBe(span!.spanContext().traceId);

    // A traceparent arrives in headers a producer chose: the store refuses what is not one.
    await expect(
      h.db.query(`UPDATE messages SET traceparent = $2 WHERE task_id = $1`, [
        task.taskId,
        '00-not-a-trace-01',
      ]),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
