// What reaches the model simulator during a phase: its requests by route, as counted inside the simulator by the
// HTTP request probe (lib/run.ts, REQUEST_COUNT_PROBE: running totals keyed `<METHOD> <path>`, response ids in the
// path replaced by {id}), and the connections open to it, as sampled by `ss`.
import { percentile } from './stats.ts';

/** The probe's running totals, by `<METHOD> <path>`. */
export type RequestCounts = Readonly<Record<string, number>>;

/** The simulator's routes, as the probe keys them. */
export const SIM_ROUTES = {
  /** A Responses API call (background or not). */
  create: 'POST /v1/responses',
  /** A poll of a background response. */
  poll: 'GET /v1/responses/{id}',
  cancel: 'POST /v1/responses/{id}/cancel',
  chat: 'POST /v1/chat/completions',
} as const;

export interface SimRequests {
  creates: number;
  polls: number;
  cancels: number;
  chat: number;
  /** Everything else (health checks, models, bill, unknown paths). */
  other: number;
  total: number;
}

/** The requests counted between two readings of the probe (an absent reading counts as none yet). */
export function requestsBetween(before: RequestCounts | null, after: RequestCounts | null): SimRequests {
  const delta = (key: string) => Math.max(0, (after?.[key] ?? 0) - (before?.[key] ?? 0));
  let total = 0;
  for (const key of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) total += delta(key);
  const creates = delta(SIM_ROUTES.create);
  const polls = delta(SIM_ROUTES.poll);
  const cancels = delta(SIM_ROUTES.cancel);
  const chat = delta(SIM_ROUTES.chat);
  return { creates, polls, cancels, chat, other: total - creates - polls - cancels - chat, total };
}

/** One reading of the probe: when the bench read it (`t`, s into the phase) and when the probe wrote it (`at`). */
export interface RequestSample {
  t: number;
  /** Epoch ms of the probe's write. */
  at: number;
  counts: RequestCounts;
}

/**
 * The highest rate of one route between two successive writes of the probe (requests per second, over the probe's
 * own clock), and the phase time of the later reading; NaN when fewer than two distinct writes were read.
 */
export function peakRate(samples: readonly RequestSample[], key: string): { perS: number; at: number } {
  let perS = NaN;
  let at = NaN;
  let prev: RequestSample | undefined;
  for (const s of samples) {
    if (prev && s.at > prev.at) {
      const rate = ((s.counts[key] ?? 0) - (prev.counts[key] ?? 0)) / ((s.at - prev.at) / 1000);
      if (!(rate <= perS)) {
        perS = rate;
        at = s.t;
      }
    }
    if (!prev || s.at > prev.at) prev = s;
  }
  return { perS, at };
}

/**
 * Open connections to the simulator while the phase held calls: the median and the p90 of the `ss` samples taken
 * when the nearest sample of calls in flight (at or before it) was above zero; NaN when there is none.
 */
export function socketsWhileHeld(
  sockets: readonly { t: number; n: number }[],
  callsInFlight: readonly { t: number; v: number }[],
): { p50: number; p90: number; samples: number } {
  // Each probe answers on its own: samples may arrive out of order.
  const byTime = <T extends { t: number }>(xs: readonly T[]) => [...xs].sort((a, b) => a.t - b.t);
  const calls = byTime(callsInFlight);
  const held: number[] = [];
  let i = 0;
  let inFlight = 0;
  for (const s of byTime(sockets)) {
    while (i < calls.length && (calls[i]?.t ?? Infinity) <= s.t) inFlight = calls[i++]?.v ?? 0;
    if (inFlight > 0) held.push(s.n);
  }
  const sorted = Float64Array.from(held).sort();
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), samples: held.length };
}
