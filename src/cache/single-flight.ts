/**
 * Coalesces concurrent identical work: the first caller for a key runs `work`, callers arriving
 * while it runs share its promise (success or failure), and the key is freed when it settles.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Returns the shared promise and whether this caller is the one running the work. */
  run(key: string, work: () => Promise<T>): { promise: Promise<T>; leader: boolean } {
    const existing = this.inFlight.get(key);
    if (existing) return { promise: existing, leader: false };
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return { promise, leader: true };
  }

  get size(): number {
    return this.inFlight.size;
  }
}
