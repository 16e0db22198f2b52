import type { ServerResponse } from 'node:http';

// setTimeout overflows (fires at once) past 2^31-1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

function connectionGone(res: ServerResponse): boolean {
  return res.destroyed || (res.socket?.destroyed ?? true);
}

// Waits on a timer, never on the event loop, and gives up as soon as the client disconnects, so a hanging or slow
// call costs one timer and one listener. Resolves true when the time elapsed with the client still connected.
export function waitUnlessClosed(ms: number, res: ServerResponse): Promise<boolean> {
  if (connectionGone(res)) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        res.off('close', onClose);
        resolve(true);
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    res.once('close', onClose);
  });
}

// The `hang` fault: nothing is ever sent; the promise settles when the client aborts or the server shuts down.
export function waitForDisconnect(res: ServerResponse): Promise<void> {
  if (connectionGone(res)) return Promise.resolve();
  return new Promise((resolve) => res.once('close', () => resolve()));
}
