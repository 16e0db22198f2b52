import { FairScheduler, type ScheduledJob } from './fair-scheduler';

interface Gate {
  job: ScheduledJob;
  release(): void;
  signal: () => AbortSignal | null;
}

// A job that runs until released, recording the order jobs started in.
function gated(id: string, tenantId: string, started: string[]): Gate {
  let release!: () => void;
  let seen: AbortSignal | null = null;
  const done = new Promise<void>((r) => (release = r));
  return {
    job: {
      id,
      tenantId,
      run: async (signal) => {
        seen = signal;
        started.push(id);
        if (signal.aborted) return;
        await Promise.race([done, new Promise((r) => signal.addEventListener('abort', r))]);
      },
    },
    release: () => release(),
    signal: () => seen,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('FairScheduler', () => {
  it('never runs more than its concurrency', async () => {
    const started: string[] = [];
    const s = new FairScheduler(2);
    const gates = ['a', 'b', 'c'].map((id) => gated(id, 't', started));
    gates.forEach((g) => s.enqueue(g.job));
    expect(started).toEqual(['a', 'b']);
    expect({ inFlight: s.inFlight, queued: s.queued }).toEqual({ inFlight: 2, queued: 1 });
    gates[0]!.release();
    await tick();
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it("serves tenants round-robin: a tenant's backlog does not starve another", async () => {
    const started: string[] = [];
    const s = new FairScheduler(1);
    const gates = new Map<string, Gate>();
    const add = (id: string, tenant: string) => {
      const g = gated(id, tenant, started);
      gates.set(id, g);
      s.enqueue(g.job);
    };
    for (let i = 0; i < 5; i += 1) add(`a${i}`, 'A');
    add('b0', 'B');
    add('b1', 'B');
    add('c0', 'C');
    for (let i = 0; i < 8; i += 1) {
      gates.get(started[started.length - 1]!)!.release();
      await tick();
    }
    expect(started).toEqual(['a0', 'a1', 'b0', 'c0', 'a2', 'b1', 'a3', 'a4']);
  });

  it('refuses a second job for the same execution', () => {
    const s = new FairScheduler(1);
    expect(s.enqueue(gated('x', 't', []).job)).toBe(true);
    expect(s.enqueue(gated('x', 't', []).job)).toBe(false);
    expect(s.enqueue(gated('y', 't', []).job)).toBe(true);
    expect(s.enqueue(gated('y', 't', []).job)).toBe(false);
  });

  it('aborts a running job, and starts a queued one at once with its signal already aborted', async () => {
    const started: string[] = [];
    const s = new FairScheduler(1);
    const a = gated('a', 't', started);
    const b = gated('b', 't', started);
    s.enqueue(a.job);
    s.enqueue(b.job);
    expect(s.abort('b', 'cancel')).toBe(true);
    expect(started).toEqual(['a', 'b']);
    expect(b.signal()?.reason).toBe('cancel');
    expect(s.abort('a', 'cancel')).toBe(true);
    expect(a.signal()?.aborted).toBe(true);
    expect(await s.idle(1_000)).toBe(true);
    expect(s.abort('a', 'cancel')).toBe(false);
  });

  it('on stop, hands back queued jobs and lets running ones be aborted', async () => {
    const started: string[] = [];
    const settled: string[] = [];
    const s = new FairScheduler(1, { onSettled: () => settled.push('x') });
    const a = gated('a', 't', started);
    s.enqueue(a.job);
    s.enqueue(gated('b', 't', started).job);
    expect(s.stop().map((j) => j.id)).toEqual(['b']);
    expect(s.enqueue(gated('c', 't', started).job)).toBe(false);
    expect(await s.idle(10)).toBe(false);
    await s.abortAll('shutdown');
    expect(a.signal()?.reason).toBe('shutdown');
    expect(started).toEqual(['a']);
    expect(settled).toHaveLength(1);
  });

  it('reports a failed job and carries on', async () => {
    const errors: unknown[] = [];
    const s = new FairScheduler(1, { onError: (_job, e) => void errors.push(e) });
    s.enqueue({ id: 'bad', tenantId: 't', run: () => Promise.reject(new Error('boom')) });
    const started: string[] = [];
    const ok = gated('ok', 't', started);
    s.enqueue(ok.job);
    await tick();
    expect(errors).toHaveLength(1);
    expect(started).toEqual(['ok']);
    ok.release();
    expect(await s.idle(1_000)).toBe(true);
  });
});
