const MAX_TIMER_MS = 2_147_483_647;

/** The abort signal of one model call, and what has to be undone once the call has ended. */
export interface CallSignal {
  signal: AbortSignal;
  /** Clears the deadline timer and stops following the job's signal. */
  dispose(): void;
}

/**
 * A signal aborted with the job's reason when the job's signal aborts (at once if it has already), or with
 * 'deadline' after `msLeft`, whichever comes first. One controller that follows the job's signal through a
 * listener, instead of a deadline controller joined to it by AbortSignal.any: the composed signal, its weak
 * references and its finalization records would otherwise stay with every call while it waits for the model.
 */
export function callSignal(job: AbortSignal, msLeft: number): CallSignal {
  const call = new AbortController();
  const followJob = () => call.abort(job.reason);
  if (job.aborted) followJob();
  else job.addEventListener('abort', followJob, { once: true });
  const timer = setTimeout(() => call.abort('deadline'), Math.max(0, Math.min(msLeft, MAX_TIMER_MS)));
  return {
    signal: call.signal,
    dispose: () => {
      clearTimeout(timer);
      job.removeEventListener('abort', followJob);
    },
  };
}
