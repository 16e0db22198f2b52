import type { ViewName } from './views';

// The console's addresses under /console/: one per view, and a task's timeline at /console/tasks/<id>.

export const BASE_PATH = '/console/';

export interface Route {
  view: ViewName | null;
  taskId: string | null;
}

const VIEWS: readonly ViewName[] = ['reviews', 'tasks', 'audit', 'spend', 'webhooks'];

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE_PATH) ? pathname.slice(BASE_PATH.length) : '';
  const [first, second] = rest.split('/');
  const view = VIEWS.find((v) => v === first) ?? null;
  const taskId = view === 'tasks' && second ? decodeURIComponent(second) : null;
  return { view, taskId };
}

export function routePath(route: Route): string {
  if (!route.view) return BASE_PATH;
  return `${BASE_PATH}${route.view}${route.taskId ? `/${encodeURIComponent(route.taskId)}` : ''}`;
}
