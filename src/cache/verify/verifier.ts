/**
 * The verifier the cache runs over its nearest candidates: reads both prompts (memoized, since a
 * stored prompt is compared again on later lookups), computes the pair features and returns the
 * learned probability that both ask the same question, with the role report for logs.
 */
import { createGuard, type GuardFindings, type GuardOptions } from '../guard.js';
import { read, type Reading, type WordSimilarity } from './alignment.js';
import { pairFeatures } from './features.js';
import { probability, type VerifierWeights } from './scorer.js';

export interface Verdict {
  score: number;
  /** Why a high-cosine candidate scored low, when a hard signal explains it (for the log line). */
  reason?: string;
  features: Float64Array;
}

export interface Verifier {
  readonly weights: VerifierWeights;
  score(cosine: number, storedText: string, newText: string): Verdict;
}

/**
 * Readings kept (least recently used out first): each lookup reads its new prompt and compares it
 * with up to five stored ones, which recur on later lookups. About 2 KB each.
 */
const MEMO = 4096;

export function createVerifier(weights: VerifierWeights, opts: { wordSimilarity?: WordSimilarity } = {}): Verifier {
  const guard = createGuard(opts as GuardOptions);
  const memo = new Map<string, Reading>();
  const readOf = (text: string): Reading => {
    let r = memo.get(text);
    if (r) {
      memo.delete(text);
      memo.set(text, r);
    } else {
      r = read(text);
      if (memo.size >= MEMO) memo.delete(memo.keys().next().value!);
      memo.set(text, r);
    }
    return r;
  };
  return {
    weights,
    score(cosine, storedText, newText) {
      // The guard's findings for this pair, computed once: the features read them, so does the reason.
      let found: GuardFindings | undefined;
      const { values, roles } = pairFeatures(cosine, readOf(storedText), readOf(newText), {
        wordSimilarity: opts.wordSimilarity,
        findings: (a, b) => (found = guard.findings(a, b)),
      });
      const score = storedText === newText ? 1 : probability(weights, values);
      const f = found ?? guard.findings(storedText, newText);
      const reason = roles.reversed
        ? `roles-swapped: ${roles.example}`
        : f.number
          ? 'number-mismatch'
          : f.negation
            ? 'negation-mismatch'
            : f.identifier || f.entity
              ? 'entity-mismatch'
              : roles.moved
                ? 'role-moved'
                : undefined;
      return { score, reason, features: values };
    },
  };
}
