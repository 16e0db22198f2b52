// Money travels as integer micro-USD (1 USD = 1,000,000) so sums are exact; USD decimals exist only at the HTTP edge.
export const MICRO_USD_PER_USD = 1_000_000;

export function usdToMicroUsd(usd: number): number {
  return Math.round(usd * MICRO_USD_PER_USD);
}

export function microUsdToUsd(microUsd: number): number {
  return microUsd / MICRO_USD_PER_USD;
}
