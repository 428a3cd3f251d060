import type { ChatCompletion, ChatRequest } from '../providers/types.js';
import type { PriceTable } from './prices.js';
import { countChatPromptTokens, countCompletionTokens } from './tokens.js';

/** What one chat request cost upstream and, for a hit, what the original call cost (the saving). */
export interface RequestAccounting {
  promptTokens: number;
  completionTokens: number;
  /** Where the token counts came from: the upstream's `usage`, or our tiktoken estimate. */
  source: 'upstream' | 'estimate';
  /** Our tiktoken estimate of the prompt, kept to compare with the upstream's count. */
  promptTokensEstimate: number;
  costMicroUsd: number;
  savedMicroUsd: number;
  savedTokens: number;
  priceKnown: boolean;
}

function tokensOf(request: ChatRequest, completion: ChatCompletion, servedFromCache: boolean) {
  const model = completion.model || request.model;
  const usage = completion.usage;
  if (usage && Number.isFinite(usage.prompt_tokens) && Number.isFinite(usage.completion_tokens)) {
    // A hit replays recorded usage; only a fresh answer is worth checking our estimate against.
    const estimate = servedFromCache ? usage.prompt_tokens : countChatPromptTokens(model, request.messages);
    return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, source: 'upstream' as const, estimate };
  }
  const estimate = countChatPromptTokens(model, request.messages);
  const completionTokens = completion.choices.reduce((n, c) => n + countCompletionTokens(model, c.message), 0);
  return { promptTokens: estimate, completionTokens, source: 'estimate' as const, estimate };
}

/**
 * Prices a served answer. A miss costs what the upstream billed (its usage when present, else
 * tiktoken counts); a hit costs nothing and saves what its original call cost.
 */
export function accountRequest(prices: PriceTable, request: ChatRequest, completion: ChatCompletion, servedFromCache: boolean): RequestAccounting {
  const t = tokensOf(request, completion, servedFromCache);
  const usage = completion.usage ?? { prompt_tokens: t.promptTokens, completion_tokens: t.completionTokens, total_tokens: t.promptTokens + t.completionTokens };
  let cost = prices.cost(completion.model || request.model, usage);
  // A dated snapshot name the table does not know still prices by the alias the client asked for.
  if (!cost.priceKnown) cost = prices.cost(request.model, usage);
  const microUsd = cost.microUsd;
  const priceKnown = cost.priceKnown;
  return {
    promptTokens: t.promptTokens,
    completionTokens: t.completionTokens,
    source: t.source,
    promptTokensEstimate: t.estimate,
    costMicroUsd: servedFromCache ? 0 : microUsd,
    savedMicroUsd: servedFromCache ? microUsd : 0,
    savedTokens: servedFromCache ? t.promptTokens + t.completionTokens : 0,
    priceKnown,
  };
}

export function usdString(microUsd: number): string {
  return (microUsd / 1e6).toFixed(6);
}
