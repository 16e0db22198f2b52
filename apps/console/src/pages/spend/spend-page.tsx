import type { BudgetResponse, SpendResponse } from '@deliberate/contracts';
import { type FormEvent, useState } from 'react';
import { useConsole } from '../../api/console-context';
import { formatMicros } from '../../api/format';
import { useLoad } from '../../api/use-load';
import { ErrorAlert, StatusLine } from '../../components/status-messages';
import { DenialsTable } from './denials-table';
import { ShadowSection } from './shadow-section';
import { SpendChart } from './spend-chart';
import { monthStart } from './spend-rows';

// What the tenant's model calls cost, per day and per model, its budgets with their cost breakers, and the
// reservations the ledger refused (GET /v1/ledger/spend, /budgets and /denials), and the shadow evaluation of the
// period (GET /v1/shadow/report). The platform admin names the tenant.

interface BudgetList {
  tenantId: string;
  budgets: BudgetResponse[];
}

const limit = (micros: number | null) => (micros === null ? 'none' : formatMicros(micros));

export function SpendPage() {
  const { api, me } = useConsole();
  const [from, setFrom] = useState(() => monthStart(Date.now()));
  const [to, setTo] = useState('');
  const [tenant, setTenant] = useState('');
  const [query, setQuery] = useState<{ from: string; to: string; tenantId: string | undefined }>({
    from,
    to: '',
    tenantId: undefined,
  });
  const byDay = useLoad(
    () => api.get<SpendResponse>('/v1/ledger/spend', { ...query, groupBy: 'day' }),
    [query],
  );
  const byModel = useLoad(
    () => api.get<SpendResponse>('/v1/ledger/spend', { ...query, groupBy: 'model' }),
    [query],
  );
  const budgets = useLoad(
    () => api.get<BudgetList>('/v1/ledger/budgets', { tenantId: query.tenantId }),
    [query],
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQuery({ from, to, tenantId: tenant.trim() || undefined });
  };
  const error = byDay.error ?? byModel.error ?? budgets.error;

  return (
    <section aria-labelledby="spend-title">
      <h1 id="spend-title">Spend</h1>
      <form onSubmit={submit} className="inline">
        {me.kind === 'platform-admin' ? (
          <>
            <label htmlFor="spend-tenant">Tenant</label>
            <input id="spend-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} />
          </>
        ) : null}
        <label htmlFor="spend-from">From</label>
        <input id="spend-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        <label htmlFor="spend-to">To (exclusive, empty: now)</label>
        <input id="spend-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        <button type="submit">Show</button>
      </form>
      <StatusLine>{byDay.loading || byModel.loading || budgets.loading ? 'Loading spend…' : ''}</StatusLine>
      <ErrorAlert error={error} />
      {byDay.data ? <SpendChart spend={byDay.data} title="Cost per day" id="spend-day" /> : null}
      {byModel.data ? <SpendChart spend={byModel.data} title="Cost per model" id="spend-model" /> : null}
      <h2>Budgets and cost breakers</h2>
      {budgets.data && budgets.data.budgets.length === 0 ? <p>No budget is set.</p> : null}
      {budgets.data && budgets.data.budgets.length > 0 ? (
        <table>
          <caption className="visually-hidden">Budgets</caption>
          <thead>
            <tr>
              <th scope="col">Scope</th>
              <th scope="col">Daily limit</th>
              <th scope="col">Spent today (+held)</th>
              <th scope="col">Monthly limit</th>
              <th scope="col">Spent this month (+held)</th>
              <th scope="col">Per task</th>
              <th scope="col">Alerts at</th>
              <th scope="col">Breaker</th>
            </tr>
          </thead>
          <tbody>
            {budgets.data.budgets.map((b) => (
              <tr key={`${b.scope}-${b.scopeId}`}>
                <th scope="row">
                  {b.scope}
                  {b.scopeId && b.scopeId !== b.tenantId ? ` ${b.scopeId}` : ''}
                </th>
                <td className="num">{limit(b.dailyLimitMicroUsd)}</td>
                <td className="num">
                  {formatMicros(b.spentTodayMicroUsd)} (+{formatMicros(b.reservedTodayMicroUsd)})
                </td>
                <td className="num">{limit(b.monthlyLimitMicroUsd)}</td>
                <td className="num">
                  {formatMicros(b.spentThisMonthMicroUsd)} (+{formatMicros(b.reservedThisMonthMicroUsd)})
                </td>
                <td className="num">{limit(b.perTaskLimitMicroUsd)}</td>
                <td>{b.softThresholdPercents.map((p) => `${p}%`).join(', ') || '—'}</td>
                <td>
                  <strong className={b.breaker === 'closed' ? 'good' : 'bad'}>
                    {b.breaker.replace('_', '-')}
                  </strong>
                  {b.breakerMaxSpendMicroUsd !== null
                    ? ` (trips over ${formatMicros(b.breakerMaxSpendMicroUsd)} in ${b.breakerWindowSeconds} s)`
                    : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <DenialsTable query={query} />
      <ShadowSection query={query} />
    </section>
  );
}
