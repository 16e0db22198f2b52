import type { DenialList } from '@deliberate/contracts';
import { useState } from 'react';
import { useConsole } from '../../api/console-context';
import { formatMicros, formatTime } from '../../api/format';
import { useLoad } from '../../api/use-load';

// The reservations the ledger refused in the period (GET /v1/ledger/denials), newest first, a page at a time:
// "Older" follows the API's cursor, "Newest" goes back to the first page.

const PAGE_SIZE = 25;

interface SpendQuery {
  from: string;
  to: string;
  tenantId: string | undefined;
}

export function DenialsTable({ query }: { query: SpendQuery }) {
  const { api, openTask } = useConsole();
  // The cursor belongs to the query it paged: a new period or tenant starts again from its newest denial.
  const [paged, setPaged] = useState<{ query: SpendQuery; cursor: string | undefined }>({
    query,
    cursor: undefined,
  });
  const cursor = paged.query === query ? paged.cursor : undefined;
  const setCursor = (next: string | undefined) => setPaged({ query, cursor: next });
  const page = useLoad(
    () => api.get<DenialList>('/v1/ledger/denials', { ...query, limit: PAGE_SIZE, cursor }),
    [query, cursor],
  );

  return (
    <section aria-labelledby="spend-denials-title">
      <h2 id="spend-denials-title">Denials</h2>
      {page.error ? (
        <p role="alert" className="error">
          {page.error}
        </p>
      ) : null}
      {page.data && page.data.denials.length === 0 ? (
        <p>{cursor ? 'No older denial.' : 'No reservation was refused in this period.'}</p>
      ) : null}
      {page.data && page.data.denials.length > 0 ? (
        <table>
          <caption className="visually-hidden">Denials</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Task</th>
              <th scope="col">Model</th>
              <th scope="col">Tier</th>
              <th scope="col">Reason</th>
              <th scope="col">Message</th>
              <th scope="col">Estimated cost</th>
            </tr>
          </thead>
          <tbody>
            {page.data.denials.map((d) => (
              <tr key={d.id}>
                <td>{formatTime(d.deniedAt)}</td>
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-label={`Task ${d.taskId}`}
                    onClick={() => openTask(d.taskId)}
                  >
                    {d.taskId.slice(0, 8)}…
                  </button>
                </td>
                <td>{d.model}</td>
                <td>{d.tier ?? '—'}</td>
                <td>
                  {d.reason}
                  {d.onDenied ? <div className="muted">then: {d.onDenied}</div> : null}
                </td>
                <td>{d.message}</td>
                <td className="num">{formatMicros(d.estimatedCostMicroUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="toolbar">
        <button
          type="button"
          className="secondary"
          disabled={cursor === undefined || page.loading}
          onClick={() => setCursor(undefined)}
        >
          Newest
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!page.data?.nextCursor || page.loading}
          onClick={() => setCursor(page.data?.nextCursor ?? undefined)}
        >
          Older
        </button>
      </div>
    </section>
  );
}
