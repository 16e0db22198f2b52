import type {
  WebhookDeliveryDetailResponse,
  WebhookDeliveryResponse,
  WebhookEndpointResponse,
} from '@deliberate/contracts';
import { type FormEvent, useState } from 'react';
import { useConsole } from '../../api/console-context';
import { formatTime } from '../../api/format';
import { errorMessage, useLoad } from '../../api/use-load';
import { mayAdminister } from '../../api/views';
import { ErrorAlert, StatusLine } from '../../components/status-messages';
import { DeliveryDetail } from './delivery-detail';

// Webhook endpoints, the delivery log with each message's attempts, and replay of one delivery or of every
// delivery created in a period (admins; auditors read only).

interface DeliveryList {
  deliveries: WebhookDeliveryResponse[];
  nextCursor: string | null;
}

const STATUSES = ['', 'pending', 'delivered', 'dead_lettered'] as const;

export function WebhooksPage() {
  const { api, me } = useConsole();
  const admin = mayAdminister(me);
  const [tenant, setTenant] = useState('');
  const [statusFilter, setStatusFilter] = useState<(typeof STATUSES)[number]>('');
  const [tenantId, setTenantId] = useState<string | undefined>(undefined);
  const endpoints = useLoad(
    () => api.get<{ endpoints: WebhookEndpointResponse[] }>('/v1/webhooks/endpoints', { tenantId }),
    [tenantId],
  );
  const deliveries = useLoad(
    () => api.get<DeliveryList>('/v1/webhooks/deliveries', { tenantId, status: statusFilter, limit: 50 }),
    [tenantId, statusFilter],
  );
  const [open, setOpen] = useState<WebhookDeliveryDetailResponse | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [from, setFrom] = useState(new Date(Date.now() - 86_400_000).toISOString().slice(0, 16));
  const [to, setTo] = useState(new Date(Date.now() + 60_000).toISOString().slice(0, 16));

  const act = async (what: string, run: () => Promise<string>) => {
    setError(null);
    setStatus(what);
    try {
      setStatus(await run());
    } catch (e) {
      setStatus('');
      setError(errorMessage(e));
    }
  };
  const show = (id: string) =>
    act('Loading the delivery…', async () => {
      setOpen(
        await api.get<WebhookDeliveryDetailResponse>(`/v1/webhooks/deliveries/${encodeURIComponent(id)}`, {
          tenantId,
        }),
      );
      return '';
    });
  const replay = (id: string) =>
    act('Replaying…', async () => {
      const d = await api.post<WebhookDeliveryResponse>(
        `/v1/webhooks/deliveries/${encodeURIComponent(id)}/replay${tenantId ? `?tenantId=${encodeURIComponent(tenantId)}` : ''}`,
      );
      deliveries.reload();
      return `Delivery ${d.id} is queued again (${d.status}).`;
    });
  const replayRange = (e: FormEvent) => {
    e.preventDefault();
    void act('Replaying the period…', async () => {
      const r = await api.post<{ replayed: number }>(
        `/v1/webhooks/replay${tenantId ? `?tenantId=${encodeURIComponent(tenantId)}` : ''}`,
        { from: new Date(`${from}Z`).toISOString(), to: new Date(`${to}Z`).toISOString() },
      );
      deliveries.reload();
      return `${r.replayed} deliveries queued again.`;
    });
  };

  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      {me.kind === 'platform-admin' ? (
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setTenantId(tenant.trim() || undefined);
          }}
        >
          <label htmlFor="webhooks-tenant">Tenant</label>
          <input id="webhooks-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} />
          <button type="submit">Show</button>
        </form>
      ) : null}
      <StatusLine>{status}</StatusLine>
      <ErrorAlert error={error ?? endpoints.error ?? deliveries.error} />
      <h2>Endpoints</h2>
      {endpoints.data?.endpoints.length === 0 ? <p>No endpoint is registered.</p> : null}
      {endpoints.data && endpoints.data.endpoints.length > 0 ? (
        <table>
          <caption className="visually-hidden">Endpoints</caption>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Status</th>
              <th scope="col">Failing since</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.data.endpoints.map((ep) => (
              <tr key={ep.id}>
                <td>
                  {ep.url}
                  {ep.description ? <div className="muted">{ep.description}</div> : null}
                </td>
                <td>{ep.eventTypes.join(', ')}</td>
                <td>
                  {ep.status}
                  {ep.disabledReason
                    ? ` (${ep.disabledReason}${ep.disabledMessage ? `: ${ep.disabledMessage}` : ''})`
                    : ''}
                </td>
                <td>{formatTime(ep.failingSince)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <h2>Deliveries</h2>
      <div className="inline">
        <label htmlFor="deliveries-status">Status</label>
        <select
          id="deliveries-status"
          value={statusFilter}
          onChange={(e) => setStatusFilter(STATUSES.find((s) => s === e.target.value) ?? '')}
        >
          <option value="">any</option>
          <option value="pending">pending</option>
          <option value="delivered">delivered</option>
          <option value="dead_lettered">dead-lettered</option>
        </select>
        <button type="button" className="secondary" onClick={deliveries.reload}>
          Refresh
        </button>
      </div>
      {deliveries.data?.deliveries.length === 0 ? <p>No delivery.</p> : null}
      {deliveries.data && deliveries.data.deliveries.length > 0 ? (
        <table>
          <caption className="visually-hidden">Deliveries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Message</th>
              <th scope="col">Created</th>
              <th scope="col">Event</th>
              <th scope="col">Target</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last error</th>
              {admin ? <th scope="col">Replay</th> : null}
            </tr>
          </thead>
          <tbody>
            {deliveries.data.deliveries.map((d) => (
              <tr key={d.id}>
                <td>
                  <button
                    type="button"
                    className="link"
                    onClick={() => void show(d.id)}
                    aria-label={`Attempts of ${d.id}`}
                  >
                    {d.id}
                  </button>
                </td>
                <td>{formatTime(d.createdAt)}</td>
                <td>{d.eventType}</td>
                <td>{d.url}</td>
                <td>{d.status.replace('_', ' ')}</td>
                <td className="num">{d.attempts}</td>
                <td>{d.lastError ?? (d.lastHttpStatus ? `HTTP ${d.lastHttpStatus}` : '—')}</td>
                {admin ? (
                  <td>
                    {d.status === 'dead_lettered' ? (
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => void replay(d.id)}
                        aria-label={`Replay ${d.id}`}
                      >
                        Replay
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open ? <DeliveryDetail delivery={open} /> : null}
      {admin ? (
        <>
          <h2>Replay a period</h2>
          <form onSubmit={replayRange} className="inline">
            <label htmlFor="replay-from">From (UTC)</label>
            <input
              id="replay-from"
              type="datetime-local"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
            />
            <label htmlFor="replay-to">To (UTC)</label>
            <input id="replay-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
            <button type="submit">Replay every delivery in the period</button>
          </form>
        </>
      ) : null}
    </section>
  );
}
