import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

// Prometheus' own checker on deploy/observability/alerts.yml: the rules parse, every expression is valid PromQL and
// every template renders. Needs promtool (Debian's prometheus package; deploy/local/test.sh installs it).

const root = join(__dirname, '../../..');
const RULES = join(root, 'deploy/observability/alerts.yml');

function promtool(file: string) {
  const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
  if (result.error)
    throw new Error(`promtool could not run (apt-get install -y prometheus): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

it('accepts every rule of deploy/observability/alerts.yml', () => {
  const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: unknown[] }[] }).groups.flatMap(
    (g) => g.rules,
  );
  expect(rules.length).toBeGreaterThan(0);
  const { status, output } = promtool(RULES);
  expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  expect(status).toBe(0);
});

it('refuses a rule whose expression is not PromQL, so the check above can fail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alert-rules-'));
  try {
    const broken = join(dir, 'broken.yml');
    writeFileSync(
      broken,
      [
        'groups:',
        '  - name: broken',
        '    rules:',
        '      - alert: Unbalanced',
        '        expr: sum(rate(deliberate_webhooks_attempts_total[5m]) > 0',
        '',
      ].join('\n'),
    );
    const { status, output } = promtool(broken);
    expect(status).not.toBe(0);
    expect(output).toContain('FAILED');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
