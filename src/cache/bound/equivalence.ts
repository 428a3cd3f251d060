/**
 * Answer equivalence: is the cached answer as good an answer to this request as the fresh one?
 * Compared on the first choice, in this order:
 *  - tool calls: the same functions in the same order, with arguments equal as JSON values
 *    (key order and spacing do not matter); a tool call on one side only is a difference;
 *  - JSON: when both contents parse as JSON objects or arrays, equal as JSON values;
 *  - text: equal after normalization (Unicode NFKC, case, punctuation, runs of spaces);
 *  - otherwise the same numbers (as a multiset: "37.8" against "212" is a different answer
 *    whatever the words) and an embedding cosine of the two answers >= ANSWER_COSINE (the
 *    gateway's own embedder). A bag-of-words embedding misses swapped roles and reads a free
 *    rewording of one answer as ~0.8, so this rule errs toward "different": that costs hits (the
 *    entry gathers wrong observations), never a wrong answer served.
 */
import type { Embedder } from '../../embedding/embedder.js';
import type { ChatCompletion } from '../../providers/types.js';

export const ANSWER_COSINE = 0.9;
export const ANSWER_CHARS = 8000;

export type EquivalenceRule = 'tool-calls' | 'json' | 'text' | 'numbers' | 'embedding';

export interface Equivalence {
  equivalent: boolean;
  rule: EquivalenceRule;
  /** The answers' embedding cosine (rule 'embedding'), else 1 or 0. */
  similarity: number;
}

export function normalizeAnswer(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** A JSON value with object keys sorted, as a string: equal strings are equal values. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function parseJson(text: string): unknown {
  const t = text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/i, '$1');
  if (!/^[[{]/.test(t)) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

function textOf(c: ChatCompletion): string {
  const content = c.choices[0]?.message.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('');
  return '';
}

function toolCallsKey(c: ChatCompletion): string | undefined {
  const calls = c.choices[0]?.message.tool_calls;
  if (!calls?.length) return undefined;
  return calls.map((t) => `${t.function.name}(${canonical(parseJson(t.function.arguments) ?? t.function.arguments)})`).join(';');
}

function numbersOf(text: string): string {
  return (text.slice(0, ANSWER_CHARS).match(/\d+(?:[.,]\d+)*/g) ?? []).sort().join(' ');
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export async function answersEquivalent(cached: ChatCompletion, fresh: ChatCompletion, embedder: Embedder): Promise<Equivalence> {
  const ta = toolCallsKey(cached);
  const tb = toolCallsKey(fresh);
  if (ta !== undefined || tb !== undefined) {
    // A tool call against text, or other calls: different. Text alongside equal calls is commentary.
    const same = ta === tb;
    return { equivalent: same, rule: 'tool-calls', similarity: same ? 1 : 0 };
  }
  const a = textOf(cached);
  const b = textOf(fresh);
  const ja = parseJson(a);
  const jb = parseJson(b);
  if (ja !== undefined && jb !== undefined) {
    const same = canonical(ja) === canonical(jb);
    return { equivalent: same, rule: 'json', similarity: same ? 1 : 0 };
  }
  if (normalizeAnswer(a) === normalizeAnswer(b)) return { equivalent: true, rule: 'text', similarity: 1 };
  if (numbersOf(a) !== numbersOf(b)) return { equivalent: false, rule: 'numbers', similarity: 0 };
  // Bounded: the comparison never reads more than the first ANSWER_CHARS characters of either side.
  const [va, vb] = await embedder.embed([a.slice(0, ANSWER_CHARS), b.slice(0, ANSWER_CHARS)]);
  const similarity = cosine(va!, vb!);
  return { equivalent: similarity >= ANSWER_COSINE, rule: 'embedding', similarity };
}
