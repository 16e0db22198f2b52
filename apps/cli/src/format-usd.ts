// Money arrives in integer micro-USD; the CLI shows it as dollars with all six digits.
export const formatUsd = (microUsd: number): string => `$${(microUsd / 1_000_000).toFixed(6)}`;
