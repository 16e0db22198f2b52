import type { ReactNode } from 'react';

// The two lines every view shows under its controls: what it is doing (read out politely, and kept in place when
// empty so the page does not jump), and what went wrong (read out at once).

export function StatusLine({ children }: { children: ReactNode }) {
  return (
    <p role="status" aria-live="polite" className="status">
      {children}
    </p>
  );
}

/** The API's message, or nothing when there is none. */
export function ErrorAlert({ error }: { error: string | null | undefined }) {
  return error ? (
    <p role="alert" className="error">
      {error}
    </p>
  ) : null;
}
