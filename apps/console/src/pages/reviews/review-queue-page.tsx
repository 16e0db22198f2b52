import type { ReviewItem, TaskResponse } from '@deliberate/contracts';
import { type FormEvent, useState } from 'react';
import { useConsole } from '../../api/console-context';
import { formatTime } from '../../api/format';
import { errorMessage, useLoad } from '../../api/use-load';
import { mayReadAttempts } from '../../api/views';
import { ErrorAlert, StatusLine } from '../../components/status-messages';
import { ClaimCountdown } from './claim-countdown';
import { ModelAttempts } from './model-attempts';
import { TaskQuestion } from './task-question';

// The human review queue: escalated tasks of the reviewer's tenant, oldest first. A reviewer opens one, reads what
// the models made of it, claims it (a countdown shows how long the claim holds), and answers; the answer completes it.

interface Answered {
  taskId: string;
  answer: string;
  task: TaskResponse | null;
}

export function ReviewQueuePage() {
  const { api, me } = useConsole();
  const queue = useLoad(() => api.get<ReviewItem[]>('/v1/reviews', { limit: 100 }), []);
  const [openId, setOpenId] = useState<string | null>(null);
  const [claimed, setClaimed] = useState<ReviewItem | null>(null);
  const [answer, setAnswer] = useState('');
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [answered, setAnswered] = useState<Answered | null>(null);
  const [busy, setBusy] = useState(false);

  const items = queue.data ?? [];
  const open = items.find((i) => i.task.id === openId) ?? (claimed?.task.id === openId ? claimed : null);
  const myClaim = claimed && claimed.task.id === openId ? claimed.claim : null;

  const act = async (what: string, run: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setStatus(what);
    try {
      await run();
    } catch (e) {
      setStatus('');
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const claim = (taskId: string) =>
    act('Claiming…', async () => {
      const item = await api.post<ReviewItem>(`/v1/reviews/${encodeURIComponent(taskId)}/claim`);
      setClaimed(item);
      setStatus(`Claimed task ${taskId}.`);
      // The list shows the claim too.
      queue.reload();
    });

  const submitAnswer = (e: FormEvent) => {
    e.preventDefault();
    if (!open) return;
    const taskId = open.task.id;
    void act('Sending the answer…', async () => {
      await api.post(`/v1/reviews/${encodeURIComponent(taskId)}/answer`, { answer });
      setAnswered({ taskId, answer, task: null });
      setClaimed(null);
      setAnswer('');
      setStatus(`Answer sent for task ${taskId}.`);
      queue.reload();
      // The reviewer (or admin) sees the task complete with the answer.
      for (let i = 0; i < 20; i += 1) {
        const task = await api.get<TaskResponse>(`/v1/tasks/${encodeURIComponent(taskId)}`);
        if (task.status === 'completed') {
          setAnswered({ taskId, answer, task });
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    });
  };

  return (
    <section aria-labelledby="reviews-title">
      <h1 id="reviews-title">Review queue</h1>
      <p className="muted">Tasks no model could answer, oldest first. Claim one before answering it.</p>
      <div className="toolbar">
        <button type="button" onClick={queue.reload} disabled={queue.loading}>
          Refresh
        </button>
      </div>
      <StatusLine>{queue.loading ? 'Loading the queue…' : status}</StatusLine>
      <ErrorAlert error={queue.error ?? error} />
      {answered ? (
        <section className="card answered" aria-labelledby="answered-title">
          <h2 id="answered-title">Answered task {answered.taskId}</h2>
          <p>
            Status: <strong>{answered.task ? answered.task.status : 'answered'}</strong>
            {answered.task?.result
              ? ` — answered by ${answered.task.result.answeredBy === 'human' ? 'a person' : answered.task.result.answeredBy}`
              : ' — answered by a person'}
          </p>
          <h3>Human answer</h3>
          <pre className="text">{answered.task?.result?.answer ?? answered.answer}</pre>
        </section>
      ) : null}
      <div className="split">
        <div>
          <h2>Waiting ({items.length})</h2>
          {items.length === 0 && !queue.loading ? <p>No task is waiting for review.</p> : null}
          <ol className="queue">
            {items.map((item) => (
              <li key={item.task.id} className={item.task.id === openId ? 'selected' : undefined}>
                <button
                  type="button"
                  className="link"
                  aria-pressed={item.task.id === openId}
                  onClick={() => {
                    setOpenId(item.task.id);
                    setError(null);
                  }}
                >
                  Task {item.task.id}
                </button>
                <p className="muted">
                  Waiting since {formatTime(item.task.escalation?.escalatedAt ?? item.task.updatedAt)}
                  {item.claim ? ` · claimed until ${formatTime(item.claim.expiresAt)}` : ' · unclaimed'}
                </p>
                <p>{item.task.escalation?.reason ?? 'no reason recorded'}</p>
              </li>
            ))}
          </ol>
        </div>
        {open ? (
          <article className="card" aria-labelledby="review-task-title">
            <h2 id="review-task-title">Task {open.task.id}</h2>
            <dl className="facts">
              <dt>Submitted</dt>
              <dd>{formatTime(open.task.createdAt)}</dd>
              <dt>Mode</dt>
              <dd>{open.task.mode}</dd>
              <dt>Escalation reason</dt>
              <dd>{open.task.escalation?.reason ?? '—'}</dd>
              <dt>Tried first</dt>
              <dd>{open.task.escalation?.attempts.join(' → ') || '—'}</dd>
              <dt>Triage</dt>
              <dd>
                {open.task.triage
                  ? `${open.task.triage.route} (${open.task.triage.decidedBy}): ${open.task.triage.reason}`
                  : '—'}
              </dd>
              {open.task.error ? (
                <>
                  <dt>Error</dt>
                  <dd>
                    {open.task.error.code}: {open.task.error.message}
                  </dd>
                </>
              ) : null}
            </dl>
            <TaskQuestion question={open.question} />
            {mayReadAttempts(me) ? <ModelAttempts taskId={open.task.id} /> : null}
            <h3>Claim</h3>
            {myClaim ? (
              <p>
                <ClaimCountdown expiresAt={myClaim.expiresAt} />
              </p>
            ) : open.claim ? (
              <p>
                Claimed by key {open.claim.reviewerKeyId} until {formatTime(open.claim.expiresAt)}.
              </p>
            ) : (
              <p>Not claimed.</p>
            )}
            <button type="button" onClick={() => void claim(open.task.id)} disabled={busy}>
              {myClaim ? 'Renew claim' : 'Claim'}
            </button>
            <form onSubmit={submitAnswer} className="answer">
              <label htmlFor="review-answer">Answer</label>
              <textarea
                id="review-answer"
                rows={6}
                value={answer}
                onChange={(e) => setAnswer(e.target.value)}
                required
                aria-describedby="review-answer-note"
              />
              <p id="review-answer-note" className="muted">
                The answer completes the task as answered by a person; it goes on the audit record with your
                key.
              </p>
              <button type="submit" disabled={busy || !answer.trim()}>
                Send answer
              </button>
            </form>
          </article>
        ) : null}
      </div>
    </section>
  );
}
