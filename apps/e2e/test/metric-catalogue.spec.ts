import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// The dashboard and the alert rules in deploy/observability name only metrics the services create: every
// instrument in apps/*/src and libs/*/src, under the name the Prometheus exporter gives it.

const root = join(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'dist' || entry.name === 'node_modules' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** OpenTelemetry instrument names in the given sources, as Prometheus names (with each suffix a series can have). */
function prometheusNames(files: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const [, kind, name] of text.matchAll(
      /create(Counter|UpDownCounter|Histogram|Gauge|ObservableGauge|ObservableCounter|ObservableUpDownCounter)\(\s*'([^']+)'/g,
    )) {
      const base = name!.replace(/\./g, '_');
      if (kind === 'Counter' || kind === 'ObservableCounter') names.add(`${base}_total`);
      else if (kind === 'Histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(base + s);
      else names.add(base);
    }
    for (const [, name] of text.matchAll(/observeGauge\(\s*[^,]+,\s*'([^']+)'/g))
      names.add(name!.replace(/\./g, '_'));
  }
  return names;
}

/** The metric names a PromQL expression reads (label names in selectors and groupings left out). */
function metricsIn(expr: string): string[] {
  const withoutLabels = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...withoutLabels.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b/g)]
    .map((m) => m[0])
    .filter((w) => /^(deliberate|messaging|gen_ai)_/.test(w));
}

const unknownIn = (exprs: readonly string[], known: ReadonlySet<string>) =>
  exprs.flatMap(metricsIn).filter((name) => !known.has(name));

const created = prometheusNames([
  ...readdirSync(join(root, 'apps')).flatMap((a) => sources(join(root, 'apps', a, 'src'))),
  ...readdirSync(join(root, 'libs')).flatMap((l) => sources(join(root, 'libs', l, 'src'))),
]);

interface Rule {
  alert: string;
  expr: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}
const rules = (
  parse(readFileSync(join(root, 'deploy/observability/alerts.yml'), 'utf8')) as {
    groups: { rules: Rule[] }[];
  }
).groups.flatMap((g) => g.rules);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(
  readFileSync(join(root, 'deploy/observability/grafana-dashboard.json'), 'utf8'),
) as {
  panels: Panel[];
};

describe('the metric catalogue behind the dashboard and the alerts', () => {
  it('finds the instruments the services create', () => {
    for (const name of [
      'messaging_process_duration_bucket',
      'deliberate_kafka_consumer_lag',
      'gen_ai_client_token_usage_sum',
      'deliberate_outbox_dead_rows',
    ])
      expect(created).toContain(name);
  });

  it('alerts only on metrics the services create, each with a severity and a summary', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(
      unknownIn(
        rules.map((r) => r.expr),
        created,
      ),
    ).toEqual([]);
    for (const rule of rules) {
      expect(metricsIn(rule.expr).length).toBeGreaterThan(0);
      expect(['warning', 'page']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toEqual(expect.any(String));
    }
  });

  it('charts only metrics the services create, in one row per service', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets?.map((t) => t.expr) ?? []);
    expect(unknownIn(exprs, created)).toEqual([]);
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    for (const service of ['Gateway', 'Triage', 'Reasoner', 'Ledger', 'Webhooks', 'Audit'])
      expect(rows).toContain(service);
  });

  it('refuses a metric nobody creates, and does not mistake label names for metrics', () => {
    expect(
      unknownIn(
        [
          'sum by (deliberate_tenant_id) (rate(deliberate_ledger_spent_usd_total{messaging_system="kafka"}[5m]))',
        ],
        created,
      ),
    ).toEqual(['deliberate_ledger_spent_usd_total']);
    expect(metricsIn('sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_sum[5m]))')).toEqual([
      'gen_ai_client_token_usage_sum',
    ]);
  });
});
