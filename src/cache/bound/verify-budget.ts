/**
 * CACHE_VERIFY_MAX_RATE: the share of error-bound lookups that may become verification calls.
 * A token bucket that starts empty and gains `rate` tokens per lookup; a verification spends one.
 * So after any number of lookups N, verification calls <= rate x N (per gateway process), and an
 * idle stretch banks at most BURST calls' worth.
 */
const BURST = 20;
const UNIT = 1_000_000;

export class VerifyBudget {
  /** In millionths of a call, so rate x N adds up exactly. */
  private tokens = 0;
  private readonly perLookup: number;
  lookups = 0;
  granted = 0;
  refused = 0;

  constructor(rate: number) {
    this.perLookup = Math.round(rate * UNIT);
  }

  /** Called once per error-bound lookup. */
  tick(): void {
    this.lookups++;
    this.tokens = Math.min(Math.max(UNIT, this.perLookup * BURST), this.tokens + this.perLookup);
  }

  /** Takes a token for one verification call, or answers false (the candidate is a plain miss). */
  take(): boolean {
    if (this.tokens >= UNIT) {
      this.tokens -= UNIT;
      this.granted++;
      return true;
    }
    this.refused++;
    return false;
  }
}
