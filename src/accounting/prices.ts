import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Usage } from '../providers/types.js';
// An import, not a file read: tsc copies the JSON next to the compiled module, so the defaults are
// found the same way from src/ (tsx) and dist/src/ (node).
import defaultPrices from './prices.json' with { type: 'json' };

/** USD per 1M tokens. `cachedInput` applies to prompt tokens the upstream served from its own cache. */
export interface ModelPrice {
  input: number;
  output: number;
  cachedInput?: number;
}

export type PriceMap = Record<string, ModelPrice>;

const usdPerMillion = z.number().finite().nonnegative();

/** The shape of prices.json and of a PRICES_FILE: `{ "<model or prefix>": { input, output, cachedInput? } }`. */
export const PriceFileSchema = z.record(
  z.string().min(1, 'model name must not be empty'),
  z.strictObject({ input: usdPerMillion, output: usdPerMillion, cachedInput: usdPerMillion.optional() }),
);

export class PriceFileError extends Error {}

export interface Cost {
  /** What the call cost, in whole micro-dollars (1e-6 USD), rounded half up per call. */
  microUsd: number;
  /** `microUsd / 1e6`: the value for headers and JSON. */
  usd: number;
  /** False when no price matched the model: the cost is then 0, not a real zero. */
  priceKnown: boolean;
  /** The table entry that priced the call (the model itself or the prefix it matched). */
  matched?: string;
}

/**
 * Micro-dollars per token is numerically the $/1M price; a price with up to 6 decimals is an exact
 * integer in pico-dollars per token, so one call's cost is computed in integers (BigInt: a large
 * prompt at an expensive model would pass 2^53 pico-dollars) and rounded once.
 */
function picoPerToken(usdPerMillionTokens: number): bigint {
  return BigInt(Math.round(usdPerMillionTokens * 1e6));
}

function nonNegativeInt(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** Prompt tokens served from the upstream's prompt cache (OpenAI's usage.prompt_tokens_details). */
export function cachedPromptTokens(usage: Partial<Usage>): number {
  const details = usage.prompt_tokens_details as { cached_tokens?: unknown } | undefined | null;
  return nonNegativeInt(details?.cached_tokens);
}

/** A name ends at one of these, so a prefix `gpt-4` prices `gpt-4-0613` but never `gpt-4.5-preview`. */
const NAME_BOUNDARY = new Set(['-', ':', '@']);

export class PriceTable {
  private readonly prices: ReadonlyMap<string, ModelPrice>;
  /** Longest first, so the first prefix that matches is the most specific one. */
  private readonly prefixes: readonly string[];

  constructor(prices: PriceMap) {
    this.prices = new Map(Object.entries(prices).map(([k, v]) => [k.toLowerCase(), v]));
    this.prefixes = [...this.prices.keys()].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.prices.size;
  }

  /** Exact name, then the name without a `provider/` prefix, then the longest prefix at a name boundary. */
  lookup(model: string): { price: ModelPrice; matched: string } | undefined {
    const full = model.trim().toLowerCase();
    const bare = full.slice(full.lastIndexOf('/') + 1);
    for (const name of full === bare ? [full] : [full, bare]) {
      const exact = this.prices.get(name);
      if (exact) return { price: exact, matched: name };
    }
    for (const prefix of this.prefixes) {
      if (bare.startsWith(prefix) && NAME_BOUNDARY.has(bare.charAt(prefix.length))) {
        return { price: this.prices.get(prefix)!, matched: prefix };
      }
    }
    return undefined;
  }

  /**
   * The cost of one call from its usage. Cached prompt tokens are part of prompt_tokens (OpenAI's
   * convention) and are billed at cachedInput, or at input when the model has no cached price.
   */
  cost(model: string, usage: Partial<Usage>): Cost {
    const found = this.lookup(model);
    if (!found) return { microUsd: 0, usd: 0, priceKnown: false };
    const { price, matched } = found;
    const prompt = nonNegativeInt(usage.prompt_tokens);
    const cached = Math.min(cachedPromptTokens(usage), prompt);
    const completion = nonNegativeInt(usage.completion_tokens);
    const pico =
      BigInt(prompt - cached) * picoPerToken(price.input) +
      BigInt(cached) * picoPerToken(price.cachedInput ?? price.input) +
      BigInt(completion) * picoPerToken(price.output);
    const microUsd = Number((pico + 500_000n) / 1_000_000n);
    return { microUsd, usd: microUsd / 1e6, priceKnown: true, matched };
  }

  costUsd(model: string, usage: Partial<Usage>): number {
    return this.cost(model, usage).usd;
  }
}

/** The shipped defaults (src/accounting/prices.json), validated like any other price file. */
export function defaultPriceMap(): PriceMap {
  return parsePriceMap(defaultPrices, 'prices.json (built-in)');
}

export function parsePriceMap(raw: unknown, source: string): PriceMap {
  const parsed = PriceFileSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new PriceFileError(`invalid price file ${source}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Read and validate a PRICES_FILE. Throws PriceFileError naming the file and every bad entry. */
export function readPriceFile(file: string): PriceMap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PriceFileError(`cannot read price file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PriceFileError(`price file ${file} is not JSON: ${(err as Error).message}`);
  }
  return parsePriceMap(raw, file);
}

/**
 * The table the gateway uses: the defaults, with each model named in `pricesFile` (config.pricesFile)
 * added or replacing the default entry of the same name.
 */
export function loadPriceTable(pricesFile?: string): PriceTable {
  const merged: PriceMap = { ...defaultPriceMap() };
  if (pricesFile) {
    for (const [model, price] of Object.entries(readPriceFile(pricesFile))) merged[model.toLowerCase()] = price;
  }
  return new PriceTable(merged);
}
