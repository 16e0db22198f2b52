import type { MeResponse } from '@deliberate/contracts';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { type ApiClient, createApiClient } from './api/api-client';
import { ConsoleContext } from './api/console-context';
import { parseRoute, type Route, routePath } from './api/route';
import { forgetApiKey, storeApiKey, storedApiKey } from './api/session';
import { errorMessage } from './api/use-load';
import { describeMe, VIEW_TITLES, type ViewName, viewsFor } from './api/views';
import { AuditPage } from './pages/audit/audit-page';
import { ReviewQueuePage } from './pages/reviews/review-queue-page';
import { SignInPage } from './pages/sign-in/sign-in-page';
import { SpendPage } from './pages/spend/spend-page';
import { TaskTimelinePage } from './pages/tasks/task-timeline-page';
import { WebhooksPage } from './pages/webhooks/webhooks-page';

interface Session {
  api: ApiClient;
  me: MeResponse;
}

function useRoute(): [Route, (route: Route) => void] {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(parseRoute(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((next: Route) => {
    window.history.pushState(null, '', routePath(next));
    setRoute(next);
  }, []);
  return [route, navigate];
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(() => storedApiKey() !== null);
  const [signInError, setSignInError] = useState<string | null>(null);
  const [route, navigate] = useRoute();

  const signIn = useCallback(async (apiKey: string) => {
    const api = createApiClient(apiKey);
    try {
      const me = await api.get<MeResponse>('/v1/me');
      storeApiKey(apiKey);
      setSignInError(null);
      setSession({ api, me });
    } catch (e) {
      forgetApiKey();
      setSignInError(errorMessage(e));
    } finally {
      setChecking(false);
    }
  }, []);

  useEffect(() => {
    const stored = storedApiKey();
    if (stored) void signIn(stored);
  }, [signIn]);

  const signOut = useCallback(() => {
    forgetApiKey();
    setSession(null);
  }, []);

  const views = useMemo(() => (session ? viewsFor(session.me) : []), [session]);
  const view: ViewName | null = route.view && views.includes(route.view) ? route.view : (views[0] ?? null);
  const context = useMemo(
    () =>
      session && {
        api: session.api,
        me: session.me,
        openTask: (taskId: string) => navigate({ view: 'tasks', taskId }),
      },
    [session, navigate],
  );

  if (!session || !context) {
    return (
      <SignInPage
        checking={checking}
        error={signInError}
        onSignIn={(key) => {
          setChecking(true);
          void signIn(key);
        }}
      />
    );
  }

  return (
    <ConsoleContext.Provider value={context}>
      <header className="top">
        <p className="brand">Deliberate console</p>
        <nav aria-label="Views">
          <ul>
            {views.map((v) => (
              <li key={v}>
                <a
                  href={routePath({ view: v, taskId: null })}
                  aria-current={v === view ? 'page' : undefined}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate({ view: v, taskId: null });
                  }}
                >
                  {VIEW_TITLES[v]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <p className="who">
          Signed in as <strong>{describeMe(session.me)}</strong>
          {session.me.keyId ? <span className="muted"> (key {session.me.keyId})</span> : null}
        </p>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {view === null ? (
          <section>
            <h1>Nothing to show</h1>
            <p>
              This key ({describeMe(session.me)}) may not read any of the console&apos;s views. Reviewers see
              the review queue, auditors the audit trail, admins spend and webhooks.
            </p>
          </section>
        ) : null}
        {view === 'reviews' ? <ReviewQueuePage /> : null}
        {view === 'tasks' ? (
          <TaskTimelinePage
            taskId={route.view === 'tasks' ? route.taskId : null}
            onOpen={(taskId) => navigate({ view: 'tasks', taskId })}
          />
        ) : null}
        {view === 'audit' ? <AuditPage /> : null}
        {view === 'spend' ? <SpendPage /> : null}
        {view === 'webhooks' ? <WebhooksPage /> : null}
      </main>
    </ConsoleContext.Provider>
  );
}
