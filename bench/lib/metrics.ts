/** Binary-classification metrics over scored pairs: ROC-AUC and recall at a precision target. */

export interface Scored {
  score: number;
  /** true = same meaning (should be a cache hit). */
  label: boolean;
}

/** NaN scores (e.g. a zero vector) rank lowest rather than breaking the sort. */
function finite(x: Scored): Scored {
  return Number.isNaN(x.score) ? { score: -Infinity, label: x.label } : x;
}

/** ROC-AUC via the Mann-Whitney U statistic, ties counted as half. */
export function rocAuc(items: Scored[]): number {
  const pos = items.filter((x) => x.label).length;
  const neg = items.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  const sorted = items.map(finite).sort((a, b) => a.score - b.score);
  let rankSumPos = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.score === sorted[i]!.score) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (sorted[k]!.label) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface OperatingPoint {
  /** Predict "same" when score >= threshold. */
  threshold: number;
  precision: number;
  recall: number;
}

/** Precision/recall at every distinct threshold, highest threshold first. */
export function prCurve(items: Scored[]): OperatingPoint[] {
  const pos = items.filter((x) => x.label).length;
  const sorted = items.map(finite).sort((a, b) => b.score - a.score);
  const out: OperatingPoint[] = [];
  let tp = 0;
  let fp = 0;
  let i = 0;
  while (i < sorted.length) {
    const s = sorted[i]!.score;
    while (i < sorted.length && sorted[i]!.score === s) {
      if (sorted[i]!.label) tp++;
      else fp++;
      i++;
    }
    out.push({ threshold: s, precision: tp / (tp + fp), recall: pos === 0 ? 0 : tp / pos });
  }
  return out;
}

/**
 * The highest recall reachable with precision >= target, and the lowest threshold that gets it.
 * Scores at or below `floor` (e.g. pairs the guard rejected) never count as predicted positives.
 */
export function recallAtPrecision(items: Scored[], target: number, floor = -Infinity): OperatingPoint {
  let best: OperatingPoint = { threshold: Infinity, precision: 1, recall: 0 };
  for (const p of prCurve(items)) {
    if (p.threshold <= floor) break;
    if (p.precision >= target && p.recall > best.recall) best = p;
  }
  return best;
}

export function percentile(sortedAsc: number[], q: number): number {
  if (sortedAsc.length === 0) return NaN;
  const idx = Math.min(sortedAsc.length - 1, Math.max(0, Math.ceil(q * sortedAsc.length) - 1));
  return sortedAsc[idx]!;
}

export { cosine } from '../../src/vector-index/hnsw-index.js';
