import { type FormEvent, useState } from 'react';
import { ErrorAlert, StatusLine } from '../../components/status-messages';

export interface SignInPageProps {
  checking: boolean;
  error: string | null;
  onSignIn: (apiKey: string) => void;
}

export function SignInPage({ checking, error, onSignIn }: SignInPageProps) {
  const [key, setKey] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (key.trim()) onSignIn(key.trim());
  };
  return (
    <main className="sign-in">
      <h1>Deliberate console</h1>
      <form onSubmit={submit} aria-describedby="sign-in-note">
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
        />
        <button type="submit" disabled={checking}>
          Sign in
        </button>
      </form>
      <p id="sign-in-note" className="muted">
        The key is kept in this tab only (session storage) and sent to the API as a bearer token; signing out
        or closing the tab forgets it.
      </p>
      <StatusLine>{checking ? 'Checking the key…' : ''}</StatusLine>
      <ErrorAlert error={error} />
    </main>
  );
}
