import type { AuditTimeline } from '@deliberate/contracts';
import { useConsole } from '../../api/console-context';
import { useLoad } from '../../api/use-load';
import { TimelineStepView } from '../../timeline/timeline-step-view';
import { attemptSteps } from '../../timeline/timeline-steps';

// What the models made of a task before it reached a person: each call's model, outcome or error and tokens, and
// each reasoning attempt's trace, read from the task's audit trail (open to a reviewer while the task waits).

export function ModelAttempts({ taskId }: { taskId: string }) {
  const { api } = useConsole();
  const timeline = useLoad(
    () => api.get<AuditTimeline>(`/v1/audit/tasks/${encodeURIComponent(taskId)}`),
    [taskId],
  );
  const steps = timeline.data?.taskId === taskId ? attemptSteps(timeline.data.entries) : [];
  return (
    <section aria-labelledby="attempts-title">
      <h3 id="attempts-title">Model attempts</h3>
      {timeline.loading ? <p className="muted">Loading the attempts from the audit trail…</p> : null}
      {timeline.error ? (
        // The trail may not have recorded the escalation yet; it can be read again.
        <p className="muted">
          The audit trail did not answer: {timeline.error}{' '}
          <button type="button" className="link" onClick={timeline.reload}>
            Try again
          </button>
        </p>
      ) : null}
      {timeline.data && !timeline.loading && steps.length === 0 ? (
        <p className="muted">The audit trail holds no model call for this task.</p>
      ) : null}
      {steps.length ? (
        <ol className="timeline">
          {steps.map((s) => (
            <TimelineStepView key={s.seq} step={s} />
          ))}
        </ol>
      ) : null}
    </section>
  );
}
