/**
 * Caps the distinct values a client-chosen label may take (model names, tenants: anyone can send
 * a new model string or a new bearer token on every request) and their length, so that persisted
 * totals, the stats window and Prometheus series stay bounded: 500 requests with fresh model names
 * grew store.log by 47 MB. The first `max` distinct values are kept as they are; later ones are
 * counted under `other`.
 */
export const OTHER_LABEL = 'other';
export const MAX_LABEL_CHARS = 64;

export class CardinalityCap {
  private readonly seen = new Set<string>();

  constructor(
    private readonly max: number,
    /** Values always kept, even past the cap (models in the price table or the routing config). */
    private readonly known: (value: string) => boolean = () => false,
  ) {}

  label(value: string): string {
    const v = value.length > MAX_LABEL_CHARS ? value.slice(0, MAX_LABEL_CHARS) : value;
    if (this.seen.has(v)) return v;
    if (this.known(v)) return v;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(v);
    return v;
  }

  /** Values already persisted (e.g. by a previous run) count against the cap and stay themselves. */
  seed(values: Iterable<string>): void {
    for (const v of values) if (this.seen.size < this.max) this.seen.add(v.slice(0, MAX_LABEL_CHARS));
  }
}
