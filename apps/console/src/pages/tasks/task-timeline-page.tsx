import type { AuditPage, AuditTimeline, SpendResponse } from '@deliberate/contracts';
import { type FormEvent, useEffect, useState } from 'react';
import { useConsole } from '../../api/console-context';
import { formatCount, formatMicros, formatMs, formatTime } from '../../api/format';
import { useLoad } from '../../api/use-load';
import { ErrorAlert, StatusLine } from '../../components/status-messages';
import { TimelineStepView } from '../../timeline/timeline-step-view';
import { callCosts, timelineSteps, totalUsage } from '../../timeline/timeline-steps';

// One task's life from its audit trail, oldest first: submission, triage decision, context selection, each model
// call and reasoning attempt, fallbacks, the answer and the webhook attempts. Recent tasks are listed to pick from.

const TASKS_PER_PAGE = 50;

export function TaskTimelinePage({
  taskId,
  onOpen,
}: {
  taskId: string | null;
  onOpen: (taskId: string) => void;
}) {
  const { api, me } = useConsole();
  const [typed, setTyped] = useState(taskId ?? '');
  useEffect(() => setTyped(taskId ?? ''), [taskId]);
  // The cursors of the pages of tasks read so far; the last is the page shown (undefined: the first).
  const [taskPages, setTaskPages] = useState<(string | undefined)[]>([undefined]);
  const taskPage = taskPages[taskPages.length - 1];
  const recent = useLoad(
    () =>
      api.get<AuditPage>('/v1/audit/events', {
        type: 'tasks.task.accepted.v1',
        limit: TASKS_PER_PAGE,
        cursor: taskPage,
      }),
    [taskPage],
  );
  const timeline = useLoad(
    taskId ? () => api.get<AuditTimeline>(`/v1/audit/tasks/${encodeURIComponent(taskId)}`) : null,
    [taskId],
  );
  const entries = taskId && timeline.data?.taskId === taskId ? timeline.data.entries : [];
  const usage = totalUsage(entries);
  // What the task's model calls cost, from the ledger (auditors may read spend; the platform auditor may not).
  const firstDay = entries[0]?.occurredAt.slice(0, 10);
  const spendOf = (groupBy: 'model' | 'call') =>
    taskId && firstDay && me.kind === 'tenant'
      ? () =>
          api.get<SpendResponse>('/v1/ledger/spend', {
            taskId,
            groupBy,
            from: firstDay,
            to: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
          })
      : null;
  const cost = useLoad(spendOf('model'), [taskId, firstDay]);
  // Each call's booking, shown on its step (matched by the call id its usage record carries).
  const perCall = useLoad(spendOf('call'), [taskId, firstDay]);
  const steps = timelineSteps(entries, perCall.data ? callCosts(perCall.data.rows) : null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (typed.trim()) onOpen(typed.trim());
  };

  return (
    <section aria-labelledby="timeline-title">
      <h1 id="timeline-title">Task timeline</h1>
      <form onSubmit={submit} className="inline">
        <label htmlFor="task-id">Task id</label>
        <input
          id="task-id"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          spellCheck={false}
          size={40}
        />
        <button type="submit">Open</button>
      </form>
      <StatusLine>
        {timeline.loading ? 'Loading the timeline…' : recent.loading ? 'Loading tasks…' : ''}
      </StatusLine>
      <ErrorAlert error={timeline.error} />
      {taskId && entries.length ? (
        <>
          <h2>Task {taskId}</h2>
          <dl className="facts summary">
            <dt>Model calls</dt>
            <dd>{usage.calls}</dd>
            <dt>Input tokens</dt>
            <dd>{formatCount(usage.inputTokens)}</dd>
            <dt>Output tokens</dt>
            <dd>{formatCount(usage.outputTokens)}</dd>
            <dt>Reasoning tokens</dt>
            <dd>{formatCount(usage.reasoningTokens)}</dd>
            <dt>Time in model calls</dt>
            <dd>{formatMs(usage.latencyMs)}</dd>
            {cost.data ? (
              <>
                <dt>Cost</dt>
                <dd className="wide">
                  {formatMicros(cost.data.total.costMicroUsd)}
                  {cost.data.rows.length > 0
                    ? ` (${cost.data.rows.map((r) => `${r.key} ${formatMicros(r.costMicroUsd)}`).join(', ')})`
                    : ''}
                </dd>
              </>
            ) : null}
          </dl>
          <ol className="timeline">
            {steps.map((step) => (
              <TimelineStepView key={step.seq} step={step} />
            ))}
          </ol>
        </>
      ) : null}
      <h2>Tasks (oldest first, page {taskPages.length})</h2>
      <ErrorAlert error={recent.error} />
      <ul className="recent">
        {(recent.data?.items ?? []).map((r) =>
          r.taskId ? (
            <li key={r.seq}>
              <button type="button" className="link" onClick={() => onOpen(r.taskId!)}>
                {r.taskId}
              </button>{' '}
              <span className="muted">accepted {formatTime(r.occurredAt)}</span>
            </li>
          ) : null,
        )}
      </ul>
      <div className="toolbar">
        <button
          type="button"
          className="secondary"
          disabled={taskPages.length === 1 || recent.loading}
          onClick={() => setTaskPages((pages) => pages.slice(0, -1))}
        >
          Previous tasks
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!recent.data?.nextCursor || recent.loading}
          onClick={() => {
            const next = recent.data?.nextCursor;
            if (next) setTaskPages((pages) => [...pages, next]);
          }}
        >
          Next tasks
        </button>
      </div>
    </section>
  );
}
