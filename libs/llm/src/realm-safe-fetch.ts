// The SDK recognises a timed-out fetch by `err instanceof Error && err.name === 'AbortError'`. When the caller runs
// in another realm than fetch (Jest's vm sandbox, for one), the DOMException fails that instanceof check, loses its
// name, and a timeout is reported as a plain connection error. Re-creating the error in this realm keeps the
// classification the same everywhere; in a normal process errors pass through untouched.
export const realmSafeFetch: typeof fetch = (input, init) =>
  fetch(input, init).catch((error: unknown) => {
    if (error instanceof Error || typeof error !== 'object' || error === null) throw error;
    const { name, message } = error as { name?: unknown; message?: unknown };
    throw Object.assign(new Error(typeof message === 'string' ? message : 'fetch failed'), {
      name: typeof name === 'string' ? name : 'Error',
      cause: error,
    });
  });
