import type { ShadowReportResponse } from '@deliberate/contracts';
import { formatMicros, formatMs } from '../../api/format';

// The shadow report as the console shows it: the agreement in one line, and the two sides in rows of a table.

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

/** "87.5% (80.1%–92.6%, 95% interval) of 120 tasks both answered", or why there is none. */
export function agreementLine(report: ShadowReportResponse): string {
  const a = report.agreement;
  if (a.rate === null || a.confidence95 === null) {
    return report.tasksCompared === 0
      ? 'No task was compared in this period.'
      : `No agreement yet: the shadow answered none of ${report.tasksCompared} compared tasks.`;
  }
  return (
    `${percent(a.rate)} (${percent(a.confidence95.low)}–${percent(a.confidence95.high)}, 95% interval) ` +
    `of ${a.answeredBoth} task${a.answeredBoth === 1 ? '' : 's'} both answered` +
    (a.judged > 0 ? `, ${a.judged} decided by the judge model` : '')
  );
}

/** "Judge: sim-fast, 12 calls, $0.0030 (in neither side's cost)", or null when no judge was called. */
export function judgeLine(report: ShadowReportResponse): string | null {
  const { judge } = report;
  if (judge.calls === 0) return null;
  return `Judge: ${judge.models.join(', ')}, ${judge.calls} call${judge.calls === 1 ? '' : 's'}, ${formatMicros(judge.costMicroUsd)} (in neither side's cost).`;
}

export interface SideRow {
  label: string;
  live: string;
  shadow: string;
}

export function sideRows(report: ShadowReportResponse): SideRow[] {
  const { live, shadow } = report;
  const tokens = (s: typeof live) =>
    `${s.inputTokens.toLocaleString('en')} in, ${s.outputTokens.toLocaleString('en')} out`;
  const rows: SideRow[] = [
    { label: 'Models', live: live.models.join(', ') || '—', shadow: shadow.models.join(', ') || '—' },
    { label: 'Cost', live: formatMicros(live.costMicroUsd), shadow: formatMicros(shadow.costMicroUsd) },
    {
      label: 'Cost per task',
      live: formatMicros(live.costPerTaskMicroUsd),
      shadow: formatMicros(shadow.costPerTaskMicroUsd),
    },
    { label: 'Latency p50', live: formatMs(live.latencyMs.p50), shadow: formatMs(shadow.latencyMs.p50) },
    { label: 'Latency p95', live: formatMs(live.latencyMs.p95), shadow: formatMs(shadow.latencyMs.p95) },
    { label: 'Tokens', live: tokens(live), shadow: tokens(shadow) },
  ];
  const p = report.projectedMonthly;
  if (p)
    rows.push({
      label: 'Projected a month',
      live: formatMicros(p.liveMicroUsd),
      shadow: formatMicros(p.shadowMicroUsd),
    });
  return rows;
}

/** "Switching saves $12.40 a month (1,500 tasks)" or costs, at the period's pace; null without a projection. */
export function switchingLine(report: ShadowReportResponse): string | null {
  const p = report.projectedMonthly;
  if (!p) return null;
  const tasks = `${p.routeTasksPerMonth.toLocaleString('en')} tasks a month at this period's pace`;
  const amount = formatMicros(Math.abs(p.differenceMicroUsd));
  if (p.differenceMicroUsd === 0) return `Switching to the shadow model costs the same (${tasks}).`;
  return p.differenceMicroUsd < 0
    ? `Switching to the shadow model saves ${amount} a month (${tasks}).`
    : `Switching to the shadow model costs ${amount} more a month (${tasks}).`;
}
