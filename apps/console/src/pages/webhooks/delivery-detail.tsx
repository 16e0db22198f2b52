import type { WebhookDeliveryDetailResponse } from '@deliberate/contracts';
import { formatMs, formatTime } from '../../api/format';

/** One message's attempts, oldest first: when, where, what came back. */
export function DeliveryDetail({ delivery }: { delivery: WebhookDeliveryDetailResponse }) {
  return (
    <section className="card" aria-labelledby="delivery-title">
      <h2 id="delivery-title">Delivery {delivery.id}</h2>
      <dl className="facts">
        <dt>Task</dt>
        <dd>{delivery.taskId}</dd>
        <dt>Event</dt>
        <dd>{delivery.eventType}</dd>
        <dt>Target</dt>
        <dd>{delivery.url}</dd>
        <dt>Status</dt>
        <dd>{delivery.status.replace('_', ' ')}</dd>
        {delivery.lastError ? (
          <>
            <dt>Last error</dt>
            <dd>{delivery.lastError}</dd>
          </>
        ) : null}
      </dl>
      <table>
        <caption>Attempts</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Attempted</th>
            <th scope="col">Outcome</th>
            <th scope="col">HTTP</th>
            <th scope="col">Latency</th>
            <th scope="col">Error</th>
            <th scope="col">Response</th>
          </tr>
        </thead>
        <tbody>
          {delivery.attemptLog.map((a) => (
            <tr key={a.attempt}>
              <td className="num">{a.attempt}</td>
              <td>{formatTime(a.attemptedAt)}</td>
              <td>{a.outcome}</td>
              <td className="num">{a.httpStatus ?? '—'}</td>
              <td className="num">{formatMs(a.latencyMs)}</td>
              <td>{a.error ?? '—'}</td>
              <td>{a.responseSnippet ? <code>{a.responseSnippet}</code> : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
