// Teardown of a suite: every step runs even when one before it failed, so no consumer, timer, database or topic
// outlives the suite; the first failure is rethrown once all steps ran.
export type CleanupStep = () => Promise<unknown>;

export async function runEveryStep(steps: readonly CleanupStep[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((e: unknown) => failures.push(e));
  if (failures.length) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
}
