// Reads the Prometheus text exposition format a service's GET /metrics serves, so a suite can scrape, run a flow,
// scrape again and compare what moved.

/** One sample line: its metric name (with any `_total`, `_bucket` … suffix), labels and value. */
export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;

// The labels between a sample's braces, `name="value",…`, read in one pass (values may hold escaped quotes).
function parseLabels(body: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('="', i);
    if (eq < 0) throw new Error(`not a Prometheus label list: ${line}`);
    const name = body.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < body.length && body[j] !== '"'; j += 1) {
      if (body[j] === '\\' && j + 1 < body.length) {
        j += 1;
        value += body[j] === 'n' ? '\n' : body[j];
      } else value += body[j];
    }
    if (j >= body.length) throw new Error(`unterminated label value: ${line}`);
    labels[name] = value;
    i = j + 1;
    while (i < body.length && (body[i] === ',' || body[i] === ' ')) i += 1;
  }
  return labels;
}

function sampleValue(raw: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return Number(raw);
}

/** Every sample of a scrape; comment lines (`# HELP`, `# TYPE`) and blank lines are skipped. */
export function parsePrometheusText(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = SAMPLE.exec(trimmed);
    if (!match) throw new Error(`not a Prometheus sample line: ${trimmed}`);
    samples.push({
      name: match[1]!,
      labels: parseLabels(match[2] ?? '', trimmed),
      value: sampleValue(match[3]!),
    });
  }
  return samples;
}

/** A scrape, with lookups by metric name and a subset of labels. */
export class PrometheusScrape {
  readonly samples: PrometheusSample[];

  constructor(readonly text: string) {
    this.samples = parsePrometheusText(text);
  }

  /** The samples named `name` whose labels include every one of `labels`. */
  find(name: string, labels: Record<string, string> = {}): PrometheusSample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  /** The sum of the matching samples, 0 when there are none (a counter never incremented is not rendered). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.find(name, labels).reduce((sum, s) => sum + s.value, 0);
  }

  /** Whether any sample matches: a gauge's series for a label set is there or absent. */
  has(name: string, labels: Record<string, string> = {}): boolean {
    return this.find(name, labels).length > 0;
  }
}

/** GET `${baseUrl}/metrics`, parsed; throws on anything but a 200. */
export async function scrapeMetrics(baseUrl: string): Promise<PrometheusScrape> {
  const res = await fetch(new URL('/metrics', baseUrl));
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${text.slice(0, 500)}`);
  return new PrometheusScrape(text);
}
