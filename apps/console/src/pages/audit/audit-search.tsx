import type { AuditPage, AuditRecordView } from '@deliberate/contracts';
import { type FormEvent, useState } from 'react';
import { useConsole } from '../../api/console-context';
import { formatTime } from '../../api/format';
import { errorMessage } from '../../api/use-load';
import { ErrorAlert, StatusLine } from '../../components/status-messages';

// Search the audit trail with the API's filters and full text, a page at a time (oldest first; "Next page"
// follows the API's cursor).

const FILTERS = ['type', 'taskId', 'route', 'model', 'status', 'decision', 'from', 'to'] as const;
type Filter = (typeof FILTERS)[number] | 'q';

const LABELS: Record<Filter, string> = {
  q: 'Full text',
  type: 'Event type',
  taskId: 'Task id',
  route: 'Route',
  model: 'Model',
  status: 'Status',
  decision: 'Decision',
  from: 'From (ISO time)',
  to: 'To (ISO time, exclusive)',
};

export function AuditSearch() {
  const { api, openTask } = useConsole();
  const [filters, setFilters] = useState<Record<Filter, string>>({
    q: '',
    type: '',
    taskId: '',
    route: '',
    model: '',
    status: '',
    decision: '',
    from: '',
    to: '',
  });
  const [items, setItems] = useState<AuditRecordView[] | null>(null);
  const [cursors, setCursors] = useState<string[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);

  const load = async (cursor: string | undefined, trail: string[]) => {
    setStatus('Searching…');
    setError(null);
    try {
      const page = await api.get<AuditPage>('/v1/audit/events', { ...filters, limit: 25, cursor });
      setItems(page.items);
      setNext(page.nextCursor);
      setCursors(trail);
      setStatus(`${page.items.length} records on page ${trail.length + 1}.`);
    } catch (e) {
      setStatus('');
      setError(errorMessage(e));
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void load(undefined, []);
  };

  return (
    <section aria-labelledby="audit-search-title">
      <h2 id="audit-search-title">Search</h2>
      <form onSubmit={submit} className="filters">
        {(['q', ...FILTERS] as Filter[]).map((f) => (
          <div key={f} className="field">
            <label htmlFor={`audit-${f}`}>{LABELS[f]}</label>
            <input
              id={`audit-${f}`}
              value={filters[f]}
              onChange={(e) => setFilters({ ...filters, [f]: e.target.value })}
              spellCheck={false}
            />
          </div>
        ))}
        <div className="field actions">
          <button type="submit">Search</button>
        </div>
      </form>
      <StatusLine>{status}</StatusLine>
      <ErrorAlert error={error} />
      {items ? (
        <>
          <table>
            <caption className="visually-hidden">Audit records</caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">Occurred</th>
                <th scope="col">Type</th>
                <th scope="col">Task</th>
                <th scope="col">Route / model</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={`${r.tenantId}-${r.seq}`}>
                  <td className="num">{r.seq}</td>
                  <td>{formatTime(r.occurredAt)}</td>
                  <td>{r.type}</td>
                  <td>
                    {r.taskId ? (
                      <button type="button" className="link" onClick={() => openTask(r.taskId!)}>
                        {r.taskId.slice(0, 8)}…
                      </button>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>{[r.route, r.model].filter(Boolean).join(' / ') || '—'}</td>
                  <td>{r.decision ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="toolbar">
            <button
              type="button"
              className="secondary"
              disabled={cursors.length === 0}
              onClick={() =>
                void load(cursors.length > 1 ? cursors[cursors.length - 2] : undefined, cursors.slice(0, -1))
              }
            >
              Previous page
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!next}
              onClick={() => next && void load(next, [...cursors, next])}
            >
              Next page
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}
