// At most `size` requests of one kind at once; the others wait their turn, in order. A wait ends early when its
// signal aborts (it then rejects with the signal's reason wrapped in an Error). Used for the polls of background
// calls: thousands of calls polled on their own timers would otherwise send their polls in bursts, each holding a
// request and its garbage, and the event loop with them.
export class RequestSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`RequestSlots: size must be a positive integer`);
    this.free = size;
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a slot, waiting for one if none is free; returns the function that gives it back (once). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortedWait(signal);
    if (this.free > 0) this.free -= 1;
    else
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const at = this.waiting.indexOf(grant);
          if (at !== -1) this.waiting.splice(at, 1);
          reject(abortedWait(signal!));
        };
        this.waiting.push(grant);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next in line, so the count of free slots never over-counts.
      if (next) next();
      else this.free += 1;
    };
  }
}

function abortedWait(signal: AbortSignal): Error {
  const error = new Error(`the wait for a request slot was aborted: ${String(signal.reason)}`);
  error.name = 'AbortError';
  return error;
}
