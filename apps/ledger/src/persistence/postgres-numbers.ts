/** Postgres bigint and numeric arrive as strings; every amount we store stays below 2^53. */
export function toNumber(value: string | number | null): number {
  return value === null ? 0 : Number(value);
}

export function toNullableNumber(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}
