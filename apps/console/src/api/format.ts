// How the console writes numbers and times: money arrives in integer micro-units of a currency unit.

export function formatMicros(micros: number | null | undefined): string {
  if (micros === null || micros === undefined) return '—';
  const units = micros / 1_000_000;
  const digits = Math.abs(units) >= 1 ? 2 : Math.abs(units) >= 0.01 ? 4 : 6;
  return `$${units.toFixed(digits)}`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** "12:04" left until `expiresAtMs`, or "expired" (minutes may pass 59). */
export function countdown(expiresAtMs: number, nowMs: number): string {
  const left = Math.ceil((expiresAtMs - nowMs) / 1000);
  if (left <= 0) return 'expired';
  const minutes = Math.floor(left / 60);
  const seconds = left % 60;
  return `${minutes}:${String(seconds).padStart(2, '0')}`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US');
}
