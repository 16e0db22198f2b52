import type { SpendResponse } from '@deliberate/contracts';
import { BarElement, CategoryScale, Chart as ChartJS, LinearScale, Tooltip } from 'chart.js';
import { Bar } from 'react-chartjs-2';
import { formatCount, formatMicros } from '../../api/format';
import { spendSeries } from './spend-rows';

ChartJS.register(CategoryScale, LinearScale, BarElement, Tooltip);

// A bar chart of cost by day or by model, and the same figures as a table for screen readers and copying.

export function SpendChart({ spend, title, id }: { spend: SpendResponse; title: string; id: string }) {
  const series = spendSeries(spend);
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {series.labels.length === 0 ? (
        <p>No spend in this period.</p>
      ) : (
        <div className="chart">
          <Bar
            role="img"
            aria-label={`${title}: ${series.labels.map((l, i) => `${l} $${series.dollars[i]!.toFixed(4)}`).join(', ')}`}
            data={{
              labels: series.labels,
              datasets: [{ label: 'Cost (USD)', data: series.dollars, backgroundColor: '#2450b3' }],
            }}
            options={{
              animation: false,
              responsive: true,
              plugins: { tooltip: { callbacks: { label: (c) => `$${Number(c.raw).toFixed(6)}` } } },
              scales: { y: { beginAtZero: true, title: { display: true, text: 'USD' } } },
            }}
          />
        </div>
      )}
      <table>
        <caption>{title} (table)</caption>
        <thead>
          <tr>
            <th scope="col">
              {spend.groupBy === 'day' ? 'Day' : spend.groupBy === 'model' ? 'Model' : 'Key'}
            </th>
            <th scope="col">Cost</th>
            <th scope="col">Calls</th>
            <th scope="col">Input tokens</th>
            <th scope="col">Output tokens</th>
            <th scope="col">Reasoning tokens</th>
          </tr>
        </thead>
        <tbody>
          {[...spend.rows, { ...spend.total, key: 'Total' }].map((r) => (
            <tr key={r.key}>
              <th scope="row">{r.key}</th>
              <td className="num">{formatMicros(r.costMicroUsd)}</td>
              <td className="num">{formatCount(r.calls)}</td>
              <td className="num">{formatCount(r.inputTokens)}</td>
              <td className="num">{formatCount(r.outputTokens)}</td>
              <td className="num">{formatCount(r.reasoningTokens)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
