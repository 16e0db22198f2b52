import { parseRoute, routePath } from './route';

describe('console routes', () => {
  it('reads a view and a task id from the path, and writes them back', () => {
    expect(parseRoute('/console/')).toEqual({ view: null, taskId: null });
    expect(parseRoute('/console/spend')).toEqual({ view: 'spend', taskId: null });
    const task = parseRoute('/console/tasks/2b0e8a4e-6d1c-4f6b-9a57-0c1f4b1d2e3f');
    expect(task).toEqual({ view: 'tasks', taskId: '2b0e8a4e-6d1c-4f6b-9a57-0c1f4b1d2e3f' });
    expect(routePath(task)).toBe('/console/tasks/2b0e8a4e-6d1c-4f6b-9a57-0c1f4b1d2e3f');
    expect(parseRoute('/console/nowhere')).toEqual({ view: null, taskId: null });
    expect(routePath({ view: 'tasks', taskId: 'a/b' })).toBe('/console/tasks/a%2Fb');
  });
});
