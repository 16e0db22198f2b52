// Signatures this service instance has already accepted, each kept until it expires, so a captured request cannot be
// sent again while it is still valid. Per instance: another replica has its own set.

/** The most signatures held at once; past it the oldest are forgotten (they expire soon anyway). */
export const SEEN_SIGNATURES_CAPACITY = 100_000;

export class SeenSignatures {
  // Insertion order is close to expiry order (the gateway signs with one lifetime), so pruning reads from the front.
  private readonly expiries = new Map<string, number>();

  constructor(private readonly capacity = SEEN_SIGNATURES_CAPACITY) {}

  /** Records `id` until `expiresAtSeconds`; false when it was already recorded and has not expired yet. */
  firstUse(id: string, expiresAtSeconds: number, nowSeconds: number): boolean {
    this.prune(nowSeconds);
    const seen = this.expiries.get(id);
    if (seen !== undefined && seen >= nowSeconds) return false;
    this.expiries.set(id, expiresAtSeconds);
    while (this.expiries.size > this.capacity) this.expiries.delete(this.expiries.keys().next().value!);
    return true;
  }

  get size(): number {
    return this.expiries.size;
  }

  private prune(nowSeconds: number): void {
    for (const [id, expiresAtSeconds] of this.expiries) {
      if (expiresAtSeconds >= nowSeconds) return;
      this.expiries.delete(id);
    }
  }
}
