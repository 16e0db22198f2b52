import { observeGauge, PROMETHEUS_CONTENT_TYPE, SECONDS_BUCKETS, ServiceMetrics } from './service-metrics';

describe('ServiceMetrics', () => {
  it('renders its instruments in the Prometheus text format, with OpenTelemetry names translated', async () => {
    const metrics = new ServiceMetrics('ledger');
    const meter = metrics.meter('test');
    meter.createCounter('deliberate.test.things', { unit: '{thing}' }).add(3, { kind: 'a' });
    meter
      .createHistogram('deliberate.test.duration', {
        unit: 's',
        advice: { explicitBucketBoundaries: [0.1, 1] },
      })
      .record(0.5);

    const text = await metrics.render();

    expect(text).toContain('# TYPE deliberate_test_things_total counter');
    expect(text).toMatch(/^deliberate_test_things_total\{kind="a"\} 3$/m);
    // The unit is declared on its own line (`# UNIT`), not appended to the name.
    expect(text).toContain('# UNIT deliberate_test_duration s');
    expect(text).toMatch(/^deliberate_test_duration_bucket\{le="0\.1"\} 0$/m);
    expect(text).toMatch(/^deliberate_test_duration_bucket\{le="1"\} 1$/m);
    expect(text).toMatch(/^deliberate_test_duration_count 1$/m);
    expect(text).toMatch(/^target_info\{.*service_name="ledger".*\} 1$/m);
    expect(PROMETHEUS_CONTENT_TYPE).toMatch(/^text\/plain; version=0\.0\.4/);
    await metrics.shutdown();
  });

  it('keeps each service to its own instruments when several run in one process', async () => {
    const gateway = new ServiceMetrics('gateway');
    const audit = new ServiceMetrics('audit');
    gateway.meter('test').createCounter('deliberate.only.gateway').add(1);

    expect(await gateway.render()).toContain('deliberate_only_gateway_total 1');
    expect(await audit.render()).not.toContain('deliberate_only_gateway');
  });

  it('reads a gauge when metrics are collected, and reports NaN for its series when a read fails', async () => {
    const metrics = new ServiceMetrics('webhooks');
    let backlog = 2;
    let failing = false;
    observeGauge(
      metrics.meter('test'),
      'deliberate.test.backlog',
      { description: 'd', unit: '{delivery}' },
      () => {
        if (failing) throw new Error('database unreachable');
        return [[{ state: 'due' }, backlog]];
      },
    );

    expect(await metrics.render()).toMatch(/^deliberate_test_backlog\{state="due"\} 2$/m);
    backlog = 5;
    expect(await metrics.render()).toMatch(/^deliberate_test_backlog\{state="due"\} 5$/m);
    failing = true;
    // Not the stale 5, nor a series gone missing: unknown, until a read works again.
    expect(await metrics.render()).toMatch(/^deliberate_test_backlog\{state="due"\} NaN$/m);
    failing = false;
    backlog = 1;
    expect(await metrics.render()).toMatch(/^deliberate_test_backlog\{state="due"\} 1$/m);
  });

  it('reports 0 for a series its read no longer answers, instead of its last value', async () => {
    const metrics = new ServiceMetrics('ledger');
    let held: [string, number][] = [
      ['acme', 3],
      ['globex', 2],
    ];
    observeGauge(metrics.meter('test'), 'deliberate.test.held', { description: 'd', unit: '{USD}' }, () =>
      held.map(([tenant, usd]) => [{ tenant }, usd] as const),
    );
    expect(await metrics.render()).toMatch(/^deliberate_test_held\{tenant="globex"\} 2$/m);
    held = [['acme', 1]];
    const text = await metrics.render();
    expect(text).toMatch(/^deliberate_test_held\{tenant="acme"\} 1$/m);
    expect(text).toMatch(/^deliberate_test_held\{tenant="globex"\} 0$/m);
  });

  it('has second buckets that grow and reach reasoning-call lengths', () => {
    expect([...SECONDS_BUCKETS].sort((a, b) => a - b)).toEqual(SECONDS_BUCKETS);
    expect(SECONDS_BUCKETS.at(-1)).toBeGreaterThanOrEqual(600);
  });
});
