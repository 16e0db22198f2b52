// The arithmetic of the shadow report: pure, so the report's figures can be checked by hand.

/** A binomial proportion's 95% interval (Wilson score): sound for small samples and for rates near 0 or 1. */
export function wilsonInterval(
  successes: number,
  trials: number,
  z = 1.959964,
): { low: number; high: number } | null {
  if (trials <= 0) return null;
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const margin = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, centre - margin), high: Math.min(1, centre + margin) };
}

export const DAYS_PER_MONTH = 30;
const DAY_MS = 86_400_000;

export interface Projection {
  /** The route's tasks a month at the window's pace. */
  tasksPerMonth: number;
  liveMicroUsd: number;
  shadowMicroUsd: number;
}

/**
 * What the route would cost a month on each side: the mean cost per compared task, times the route's tasks per
 * month at the pace of the window (its tasks over its length, as 30 days). Null when nothing was compared.
 */
export function projectMonthly(input: {
  compared: number;
  liveMicroUsd: number;
  shadowMicroUsd: number;
  routeTasks: number;
  windowMs: number;
}): Projection | null {
  if (input.compared <= 0 || input.windowMs <= 0) return null;
  const tasksPerMonth = (input.routeTasks * DAYS_PER_MONTH * DAY_MS) / input.windowMs;
  return {
    tasksPerMonth: Math.round(tasksPerMonth),
    liveMicroUsd: Math.round((input.liveMicroUsd / input.compared) * tasksPerMonth),
    shadowMicroUsd: Math.round((input.shadowMicroUsd / input.compared) * tasksPerMonth),
  };
}
