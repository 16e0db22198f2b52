import { useEffect, useState } from 'react';
import { countdown } from '../../api/format';

/** Time left on a claim, ticking each second; the live region speaks only when it has run out. */
export function ClaimCountdown({ expiresAt, onExpired }: { expiresAt: string; onExpired?: () => void }) {
  const expiresAtMs = Date.parse(expiresAt);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  const left = countdown(expiresAtMs, now);
  useEffect(() => {
    if (left === 'expired') onExpired?.();
  }, [left, onExpired]);
  return (
    <span className={left === 'expired' ? 'countdown expired' : 'countdown'}>
      <span aria-hidden="true">{left === 'expired' ? 'Claim expired' : `Claim expires in ${left}`}</span>
      <span className="visually-hidden" aria-live="polite">
        {left === 'expired'
          ? 'Your claim has expired'
          : `Claim held until ${new Date(expiresAtMs).toISOString()}`}
      </span>
    </span>
  );
}
