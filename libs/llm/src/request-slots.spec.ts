import { RequestSlots } from './request-slots';

const tick = () => new Promise((r) => setImmediate(r));

describe('RequestSlots', () => {
  it('grants up to its size at once, then one more each time a slot is given back, in order', async () => {
    const slots = new RequestSlots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const c = slots.acquire().then((release) => (order.push('c'), release));
    const d = slots.acquire().then((release) => (order.push('d'), release));
    await tick();
    expect(order).toEqual([]);
    expect(slots.queued).toBe(2);
    a();
    await tick();
    expect(order).toEqual(['c']);
    b();
    await tick();
    expect(order).toEqual(['c', 'd']);
    (await c)();
    (await d)();
    // All four given back: two free again, none waiting.
    await Promise.all([slots.acquire(), slots.acquire()]);
    expect(slots.queued).toBe(0);
  });

  it('gives a slot back once, however often its release is called', async () => {
    const slots = new RequestSlots(1);
    const release = await slots.acquire();
    release();
    release();
    await slots.acquire();
    let third = false;
    void slots.acquire().then(() => (third = true));
    await tick();
    expect(third).toBe(false);
  });

  it('ends a wait when its signal aborts, leaving the line to the others', async () => {
    const slots = new RequestSlots(1);
    const release = await slots.acquire();
    const controller = new AbortController();
    const aborted = slots.acquire(controller.signal);
    const next = slots.acquire();
    controller.abort('deadline');
    await expect(aborted).rejects.toMatchObject({
      name: 'AbortError',
      message: expect.stringContaining('deadline'),
    });
    expect(slots.queued).toBe(1);
    release();
    await expect(next).resolves.toEqual(expect.any(Function));
  });

  it('refuses at once a wait whose signal has aborted already, and a size that is not a positive integer', async () => {
    const controller = new AbortController();
    controller.abort('shutdown');
    await expect(new RequestSlots(3).acquire(controller.signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(() => new RequestSlots(0)).toThrow(RangeError);
    expect(() => new RequestSlots(1.5)).toThrow(RangeError);
  });
});
