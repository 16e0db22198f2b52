import type { ReviewItem } from '@deliberate/contracts';

// What a task asks: its input (a text or a conversation) and the context documents it came with, as one region
// (the model attempts beside it show the same text as the prompt each model saw).

export function TaskQuestion({ question }: { question: ReviewItem['question'] }) {
  return (
    <section aria-label="Question">
      <h3>Input</h3>
      {typeof question.input === 'string' ? (
        <pre className="text">{question.input}</pre>
      ) : (
        <ol className="messages">
          {question.input.map((m, i) => (
            <li key={i}>
              <span className="role">{m.role}</span>
              <pre className="text">{m.content}</pre>
            </li>
          ))}
        </ol>
      )}
      <h3>Context ({question.context.length})</h3>
      {question.context.length === 0 ? (
        <p className="muted">No context documents.</p>
      ) : (
        <ol className="documents">
          {question.context.map((d, i) => (
            <li key={i}>
              <details>
                <summary>{d.title ?? d.id ?? `Document ${i + 1}`}</summary>
                <pre className="text">{d.content}</pre>
              </details>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
