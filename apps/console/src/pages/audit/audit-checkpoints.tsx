import type { CheckpointList } from '@deliberate/contracts';
import { type FormEvent, useState } from 'react';
import { useConsole } from '../../api/console-context';
import { formatTime } from '../../api/format';
import { errorMessage, useLoad } from '../../api/use-load';
import { ErrorAlert, StatusLine } from '../../components/status-messages';

// The signed checkpoints to keep outside the system, and an export of a period's records as a file.

function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

export function AuditCheckpoints({ tenantId }: { tenantId: string | undefined }) {
  const { api } = useConsole();
  const list = useLoad(
    () => api.get<CheckpointList>('/v1/audit/checkpoints', { tenantId, limit: 50 }),
    [tenantId],
  );
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10));
  const [to, setTo] = useState(new Date(Date.now() + 86_400_000).toISOString().slice(0, 10));
  const [format, setFormat] = useState<'jsonl' | 'csv'>('jsonl');
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);

  const download = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setStatus('Exporting…');
    try {
      const blob = await api.download('/v1/audit/export', {
        tenantId,
        from: `${from}T00:00:00Z`,
        to: `${to}T00:00:00Z`,
        format,
      });
      saveFile(blob, `audit-${from}-${to}.${format}`);
      setStatus(`Exported ${blob.size} bytes.`);
    } catch (err) {
      setStatus('');
      setError(errorMessage(err));
    }
  };

  return (
    <section aria-labelledby="audit-checkpoints-title">
      <h2 id="audit-checkpoints-title">Checkpoints and export</h2>
      <ErrorAlert error={list.error} />
      {list.data ? (
        <>
          <p className="muted">
            Signed with {list.data.algorithm}, current key {list.data.keyId}.
          </p>
          {list.data.checkpoints.length === 0 ? (
            <p>No checkpoint yet.</p>
          ) : (
            <table>
              <caption className="visually-hidden">Signed checkpoints</caption>
              <thead>
                <tr>
                  <th scope="col">Seq</th>
                  <th scope="col">At</th>
                  <th scope="col">Key</th>
                  <th scope="col">Record hash</th>
                </tr>
              </thead>
              <tbody>
                {list.data.checkpoints.map((c) => (
                  <tr key={`${c.tenantId}-${c.seq}`}>
                    <td className="num">{c.seq}</td>
                    <td>{formatTime(c.at)}</td>
                    <td>{c.keyId}</td>
                    <td className="hash">{c.recordHash}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : null}
      <form onSubmit={(e) => void download(e)} className="inline">
        <label htmlFor="export-from">From</label>
        <input
          id="export-from"
          type="date"
          value={from}
          max={today}
          onChange={(e) => setFrom(e.target.value)}
        />
        <label htmlFor="export-to">To (exclusive)</label>
        <input id="export-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        <label htmlFor="export-format">Format</label>
        <select
          id="export-format"
          value={format}
          onChange={(e) => setFormat(e.target.value === 'csv' ? 'csv' : 'jsonl')}
        >
          <option value="jsonl">JSON Lines</option>
          <option value="csv">CSV</option>
        </select>
        <button type="submit">Download export</button>
      </form>
      <StatusLine>{status}</StatusLine>
      <ErrorAlert error={error} />
    </section>
  );
}
