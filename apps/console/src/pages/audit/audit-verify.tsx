import type { VerifyReport } from '@deliberate/contracts';
import { useState } from 'react';
import { useConsole } from '../../api/console-context';
import { formatCount } from '../../api/format';
import { errorMessage } from '../../api/use-load';
import { ErrorAlert, StatusLine } from '../../components/status-messages';

// Recomputes the tenant's hash chain (GET /v1/audit/verify) and says plainly whether it holds, and where not.

export function AuditVerify({ tenantId }: { tenantId: string | undefined }) {
  const { api } = useConsole();
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);

  const verify = async () => {
    setStatus('Verifying the chain…');
    setError(null);
    try {
      const r = await api.get<VerifyReport>('/v1/audit/verify', { tenantId });
      setReport(r);
      setStatus(r.ok ? 'The chain is intact.' : 'The chain is broken.');
    } catch (e) {
      setStatus('');
      setError(errorMessage(e));
    }
  };

  const link = report?.firstBrokenLink;
  return (
    <section aria-labelledby="audit-verify-title">
      <h2 id="audit-verify-title">Verify the chain</h2>
      <button type="button" onClick={() => void verify()}>
        Verify
      </button>
      <StatusLine>{status}</StatusLine>
      <ErrorAlert error={error} />
      {report ? (
        <div>
          <p className={report.ok ? 'verdict ok' : 'verdict broken'}>
            {report.ok
              ? `Intact: ${formatCount(report.checked)} records and ${report.checkpointsChecked} checkpoints check out (seq ${report.fromSeq} to ${report.toSeq}).`
              : `Broken: ${link ? `the first broken link is at seq ${link.seq} (${link.reason})` : `the head disagrees (${report.headMismatch?.reason ?? 'unknown'})`}.`}
          </p>
          {link ? (
            <dl className="facts">
              <dt>Seq</dt>
              <dd>{link.seq}</dd>
              <dt>Reason</dt>
              <dd>{link.reason}</dd>
              {link.eventId ? (
                <>
                  <dt>Event</dt>
                  <dd>{link.eventId}</dd>
                </>
              ) : null}
              {link.detail ? (
                <>
                  <dt>Detail</dt>
                  <dd>{link.detail}</dd>
                </>
              ) : null}
              {link.expected ? (
                <>
                  <dt>Expected</dt>
                  <dd className="hash">{link.expected}</dd>
                  <dt>Found</dt>
                  <dd className="hash">{link.found}</dd>
                </>
              ) : null}
            </dl>
          ) : null}
          {report.headMismatch ? (
            <p>
              Head mismatch: {report.headMismatch.reason}
              {report.headMismatch.detail ? ` — ${report.headMismatch.detail}` : ''}
            </p>
          ) : null}
          <p className="muted">
            Head seq {report.headSeq}, last stored {report.lastStoredSeq}, purged through{' '}
            {report.purgedThroughSeq}
            {report.newestCheckpoint ? `, newest checkpoint at seq ${report.newestCheckpoint.seq}` : ''}.
          </p>
        </div>
      ) : null}
    </section>
  );
}
