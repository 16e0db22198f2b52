import { REQUEST_ENDED, withRequestSignal } from './request-signal';

describe('withRequestSignal', () => {
  it('gives the request a signal of its own, aborted once the request has ended', async () => {
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    await withRequestSignal(caller.signal, (signal) => {
      seen = signal;
      expect(signal.aborted).toBe(false);
      return Promise.resolve('answer');
    });
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(REQUEST_ENDED);
    // The caller's signal is not touched.
    expect(caller.signal.aborted).toBe(false);
  });

  it("aborts the request's signal with the caller's reason when the caller aborts", async () => {
    const caller = new AbortController();
    const outcome = withRequestSignal(
      caller.signal,
      (signal) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error(String(signal.reason)))),
        ),
    );
    caller.abort('shutdown');
    await expect(outcome).rejects.toThrow('shutdown');
  });

  it('starts aborted when the caller already is, and ends a failed request the same way', async () => {
    const caller = new AbortController();
    caller.abort('cancel');
    let seen: AbortSignal | undefined;
    await expect(
      withRequestSignal(caller.signal, (signal) => {
        seen = signal;
        return Promise.reject(new Error('refused'));
      }),
    ).rejects.toThrow('refused');
    expect(seen!.reason).toBe('cancel');
  });

  it('leaves no listener on the caller once the request has ended', async () => {
    const caller = new AbortController();
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const signal = caller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((type: string, fn: never, options?: never) => {
      added.push(fn);
      add(type, fn, options);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((type: string, fn: never) => {
      removed.push(fn);
      remove(type, fn);
    }) as typeof signal.removeEventListener;
    await withRequestSignal(signal, () => Promise.resolve(1));
    expect(removed).toEqual(added);
  });

  it('works without a caller signal', async () => {
    await expect(withRequestSignal(undefined, (signal) => Promise.resolve(signal.aborted))).resolves.toBe(
      false,
    );
  });
});
