/**
 * Hit-quality accounting shared by the HTTP replay and the offline sweep: one Decision per
 * request, scored against the workload's ground truth.
 */
import { countChatPromptTokens } from '../../src/accounting/tokens.js';
import { countCompletionTokens } from '../../src/accounting/tokens.js';
import { loadPriceTable, type PriceTable } from '../../src/accounting/prices.js';
import { simulatedReply } from './sim-upstream.js';
import type { Workload } from './workload.js';

export type DecisionStatus = 'hit' | 'semantic-hit' | 'miss';

export interface Decision {
  status: DecisionStatus;
  /** For hits: the index of the request whose stored answer was served. */
  source?: number;
  similarity?: number;
}

export interface QualityMetrics {
  requests: number;
  hits: number;
  exactHits: number;
  semanticHits: number;
  misses: number;
  /** Hits whose answer came from a true duplicate. */
  correctHits: number;
  wrongHits: number;
  correctSemanticHits: number;
  /** Requests that had a true duplicate earlier in the sequence (the hits a perfect cache makes). */
  duplicates: number;
  hitRate: number;
  /** correct / hits (NaN when nothing hit). */
  precision: number;
  semanticPrecision: number;
  /** correct / duplicates. */
  recall: number;
  f1: number;
  wrongPer1000: number;
  upstreamCalls: number;
  /** Prompt + completion tokens of the upstream calls the hits avoided, and their price. */
  tokensSaved: number;
  usdSaved: number;
  /** The same, counting correct hits only (a wrong hit saves money by serving a wrong answer). */
  tokensSavedCorrect: number;
  usdSavedCorrect: number;
}

/** Tokens an avoided call would have cost: the request's prompt and the answer it was served. */
export class Savings {
  private readonly prompt = new Map<string, number>();
  private readonly completion = new Map<string, number>();
  readonly prices: PriceTable;

  constructor(
    readonly model: string,
    pricesFile?: string,
  ) {
    this.prices = loadPriceTable(pricesFile);
  }

  of(requestText: string, answerSourceText: string): { tokens: number; usd: number } {
    let p = this.prompt.get(requestText);
    if (p === undefined) {
      p = countChatPromptTokens(this.model, [{ role: 'user', content: requestText }]);
      this.prompt.set(requestText, p);
    }
    let c = this.completion.get(answerSourceText);
    if (c === undefined) {
      c = countCompletionTokens(this.model, { content: simulatedReply(answerSourceText) });
      this.completion.set(answerSourceText, c);
    }
    // Priced per call, as the upstream bills; summed in micro-dollars to avoid float drift.
    return { tokens: p + c, usd: this.prices.cost(this.model, { prompt_tokens: p, completion_tokens: c }).microUsd / 1e6 };
  }
}

export function f1(precision: number, recall: number): number {
  if (!(precision + recall > 0)) return 0;
  return (2 * precision * recall) / (precision + recall);
}

export function scoreDecisions(workload: Workload, decisions: Decision[], savings: Savings, upstreamCalls?: number): QualityMetrics {
  const items = workload.items.slice(0, decisions.length);
  let exactHits = 0;
  let semanticHits = 0;
  let correctHits = 0;
  let correctSemanticHits = 0;
  let tokensSaved = 0;
  let microSaved = 0;
  let tokensSavedCorrect = 0;
  let microSavedCorrect = 0;
  decisions.forEach((d, i) => {
    if (d.status === 'miss') return;
    const item = items[i]!;
    const source = d.source !== undefined ? items[d.source] : undefined;
    const correct = source !== undefined && source.group === item.group;
    if (d.status === 'hit') exactHits++;
    else semanticHits++;
    const s = savings.of(item.text, source?.text ?? item.text);
    tokensSaved += s.tokens;
    microSaved += Math.round(s.usd * 1e6);
    if (correct) {
      correctHits++;
      if (d.status === 'semantic-hit') correctSemanticHits++;
      tokensSavedCorrect += s.tokens;
      microSavedCorrect += Math.round(s.usd * 1e6);
    }
  });
  const requests = decisions.length;
  const hits = exactHits + semanticHits;
  const misses = requests - hits;
  const duplicates = items.filter((x) => x.duplicateOf !== null).length;
  const precision = hits === 0 ? NaN : correctHits / hits;
  const recall = duplicates === 0 ? NaN : correctHits / duplicates;
  return {
    requests,
    hits,
    exactHits,
    semanticHits,
    misses,
    correctHits,
    wrongHits: hits - correctHits,
    correctSemanticHits,
    duplicates,
    hitRate: requests === 0 ? 0 : hits / requests,
    precision,
    semanticPrecision: semanticHits === 0 ? NaN : correctSemanticHits / semanticHits,
    recall,
    f1: f1(Number.isNaN(precision) ? 0 : precision, Number.isNaN(recall) ? 0 : recall),
    wrongPer1000: requests === 0 ? 0 : ((hits - correctHits) / requests) * 1000,
    upstreamCalls: upstreamCalls ?? misses,
    tokensSaved,
    usdSaved: microSaved / 1e6,
    tokensSavedCorrect,
    usdSavedCorrect: microSavedCorrect / 1e6,
  };
}

/** Pools several workloads' metrics (sums, then ratios of sums). */
export function poolMetrics(list: QualityMetrics[]): QualityMetrics {
  const sum = (k: keyof QualityMetrics) => list.reduce((a, m) => a + (m[k] as number), 0);
  const requests = sum('requests');
  const hits = sum('hits');
  const correctHits = sum('correctHits');
  const semanticHits = sum('semanticHits');
  const duplicates = sum('duplicates');
  const precision = hits === 0 ? NaN : correctHits / hits;
  const recall = duplicates === 0 ? NaN : correctHits / duplicates;
  return {
    requests,
    hits,
    exactHits: sum('exactHits'),
    semanticHits,
    misses: sum('misses'),
    correctHits,
    wrongHits: hits - correctHits,
    correctSemanticHits: sum('correctSemanticHits'),
    duplicates,
    hitRate: requests === 0 ? 0 : hits / requests,
    precision,
    semanticPrecision: semanticHits === 0 ? NaN : sum('correctSemanticHits') / semanticHits,
    recall,
    f1: f1(Number.isNaN(precision) ? 0 : precision, Number.isNaN(recall) ? 0 : recall),
    wrongPer1000: requests === 0 ? 0 : ((hits - correctHits) / requests) * 1000,
    upstreamCalls: sum('upstreamCalls'),
    tokensSaved: sum('tokensSaved'),
    usdSaved: Math.round(sum('usdSaved') * 1e6) / 1e6,
    tokensSavedCorrect: sum('tokensSavedCorrect'),
    usdSavedCorrect: Math.round(sum('usdSavedCorrect') * 1e6) / 1e6,
  };
}
