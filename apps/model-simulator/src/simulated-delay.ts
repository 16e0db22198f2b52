import type { ServerResponse } from 'node:http';

// setTimeout overflows (fires at once) past 2^31-1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function connectionGone(res: ServerResponse): boolean {
  return res.destroyed || (res.socket?.destroyed ?? true);
}

// Generation runs to its end whether or not the client stays, as at a real provider, which bills it either way.
// Waits on a timer, never on the event loop; a client that leaves no longer holds the process open (the timer is
// unref'd). Resolves with whether the client was still connected when the answer was ready.
export function waitForGeneration(ms: number, res: ServerResponse): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!connectionGone(res));
  return new Promise((resolve) => {
    const onClose = (): void => {
      timer.unref();
    };
    const timer = setTimeout(
      () => {
        res.off('close', onClose);
        resolve(!connectionGone(res));
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    if (connectionGone(res)) timer.unref();
    else res.once('close', onClose);
  });
}

// The `hang` fault: nothing is ever sent; the promise settles when the client aborts or the server shuts down.
export function waitForDisconnect(res: ServerResponse): Promise<void> {
  if (connectionGone(res)) return Promise.resolve();
  return new Promise((resolve) => res.once('close', () => resolve()));
}
