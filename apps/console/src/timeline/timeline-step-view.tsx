import { formatCount, formatMicros, formatMs } from '../api/format';
import type { StepDetail, TimelineStep } from './timeline-steps';

function Detail({ detail }: { detail: StepDetail }) {
  switch (detail.kind) {
    case 'text':
      return (
        <div className="detail">
          <h4>{detail.label}</h4>
          <pre className="text">{detail.text}</pre>
        </div>
      );
    case 'usage':
      return (
        <dl className="facts usage">
          <dt>Input tokens</dt>
          <dd>{formatCount(detail.usage.inputTokens)}</dd>
          <dt>Cached input</dt>
          <dd>{formatCount(detail.usage.cachedInputTokens)}</dd>
          <dt>Output tokens</dt>
          <dd>{formatCount(detail.usage.outputTokens)}</dd>
          <dt>Reasoning tokens</dt>
          <dd>{formatCount(detail.usage.reasoningTokens)}</dd>
          {detail.latencyMs !== null ? (
            <>
              <dt>Latency</dt>
              <dd>{formatMs(detail.latencyMs)}</dd>
            </>
          ) : null}
          {detail.bookedMicroUsd !== null ? (
            <>
              <dt>Cost booked</dt>
              <dd className="cost">
                {formatMicros(detail.bookedMicroUsd)}
                {detail.bookedNote ? <span className="muted"> ({detail.bookedNote})</span> : null}
              </dd>
            </>
          ) : null}
        </dl>
      );
    case 'context':
      return (
        <div className="detail">
          <h4>Context selection</h4>
          <ul>
            {detail.documents.map((d, i) => (
              <li key={i}>
                <strong>{d.kept ? 'kept' : 'dropped'}</strong> {d.title} (score {d.score.toFixed(2)}):{' '}
                {d.reason}
              </li>
            ))}
          </ul>
        </div>
      );
    case 'messages':
      return (
        <details className="detail">
          <summary>Prompt as the model saw it ({detail.messages.length} messages)</summary>
          <ol className="messages">
            {detail.messages.map((m, i) => (
              <li key={i}>
                <span className="role">{m.role}</span>
                <pre className="text">{m.content}</pre>
              </li>
            ))}
          </ol>
        </details>
      );
  }
}

export function TimelineStepView({ step }: { step: TimelineStep }) {
  return (
    <li className={`step ${step.tone}`}>
      <div className="marker" aria-hidden="true" />
      <div className="body">
        <h3>
          {step.title} <span className="muted seq">#{step.seq}</span>
        </h3>
        <p className="when">
          <time dateTime={step.at}>{step.at}</time>
        </p>
        {step.summary ? <p>{step.summary}</p> : null}
        {step.details.map((d, i) => (
          <Detail key={i} detail={d} />
        ))}
      </div>
    </li>
  );
}
