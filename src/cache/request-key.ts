import { createHash } from 'node:crypto';
import type { ChatMessage, ChatRequest } from '../providers/types.js';

/**
 * Request fields that do not change what the model answers. Everything else (temperature, top_p,
 * max_tokens, tools, response_format, seed, n, stop, logit_bias, unknown future fields...) goes
 * into the scope, so an unfamiliar parameter splits the cache rather than being ignored.
 */
const NON_OUTPUT_FIELDS = new Set(['messages', 'stream', 'stream_options', 'user', 'metadata', 'store', 'service_tier', 'model']);

/**
 * Values OpenAI documents as the default of a parameter: sending one asks for exactly what leaving
 * the parameter out asks for, so it must not split the cache. Anything not listed is kept as sent.
 */
const DEFAULTS: Record<string, unknown> = {
  temperature: 1,
  top_p: 1,
  n: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
  logprobs: false,
  parallel_tool_calls: true,
};

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

/**
 * The output-affecting parameters of a request, with spellings that mean the same folded into
 * one: a documented default is the same as no value, `max_tokens` is the older name of
 * `max_completion_tokens`, `stop: "x"` is `stop: ["x"]`, an empty stop list or logit_bias is none,
 * `response_format: {type:"text"}` is the default format, and `tool_choice` `"auto"` with tools
 * or `"none"` without them is what the API does anyway. Only the hash sees this: the request
 * goes upstream as the client sent it.
 */
export function scopeParams(request: ChatRequest): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) {
    if (NON_OUTPUT_FIELDS.has(k) || v === null || v === undefined) continue;
    if (k in DEFAULTS && v === DEFAULTS[k]) continue;
    params[k] = v;
  }
  if (params.max_tokens !== undefined && (params.max_completion_tokens === undefined || params.max_completion_tokens === params.max_tokens)) {
    params.max_completion_tokens = params.max_tokens;
    delete params.max_tokens;
  }
  if (typeof params.stop === 'string') params.stop = [params.stop];
  for (const k of ['stop', 'logit_bias', 'tools']) if (isEmpty(params[k])) delete params[k];
  const rf = params.response_format as { type?: unknown } | undefined;
  if (rf && typeof rf === 'object' && rf.type === 'text' && Object.keys(rf).length === 1) delete params.response_format;
  const hasTools = Array.isArray(params.tools);
  if ((params.tool_choice === 'auto' && hasTools) || (params.tool_choice === 'none' && !hasTools)) delete params.tool_choice;
  if (!hasTools) delete params.parallel_tool_calls;
  return params;
}

export interface CacheKeys {
  /** Entries may only answer requests with the same scope. */
  scope: string;
  /** scope + the normalized last user turn: the exact tier's key. */
  exactKey: string;
  /** The text the semantic tier embeds: the last user turn; undefined when not embeddable. */
  semanticText?: string;
}

export interface ScopeInput {
  /** Tenant id (hash of the gateway key or client credential); omitted when tenants share. */
  tenant?: string;
  namespace: string;
  /** The model as requested (the alias), so a fallback answer is cached under the alias. */
  model: string;
  request: ChatRequest;
  /** What the gateway itself put into the request (template version, system-prompt policy). */
  variant?: string;
  /** Longer last turns use the exact tier only (embedding cost grows with length; see README). */
  semanticMaxChars?: number;
}

export function messageText(m: ChatMessage): string {
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) {
    return m.content
      .filter((p) => p && p.type === 'text' && typeof p.text === 'string')
      .map((p) => p.text as string)
      .join('\n');
  }
  return '';
}

function hasNonTextParts(m: ChatMessage): boolean {
  return Array.isArray(m.content) && m.content.some((p) => p.type !== 'text');
}

/** NFKC, trimmed, inner whitespace collapsed: differences no model would answer differently. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, ' ').trim();
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** JSON with sorted object keys, so `{a,b}` and `{b,a}` hash alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function computeCacheKeys(input: ScopeInput): CacheKeys {
  const { request } = input;
  const messages = request.messages;
  const last = messages[messages.length - 1]!;
  const params = scopeParams(request);
  // Everything before the last turn (system prompt, earlier turns) is context the answer depends on.
  const context = messages.slice(0, -1).map((m) => ({ ...m, content: typeof m.content === 'string' ? normalizeText(m.content) : m.content }));
  const scope = sha256(
    canonicalJson({ v: 1, tenant: input.tenant ?? '*', namespace: input.namespace, model: input.model, params, context, lastRole: last.role, variant: input.variant }),
  );
  const lastText = normalizeText(messageText(last));
  // Whatever the text alone does not say goes into the exact key: non-text parts, tool calls, a
  // name, and content that is not plain text (null, text parts without a string) - so "" and null
  // and [{type:'text'}] are three different requests.
  const plainText = typeof last.content === 'string' || (Array.isArray(last.content) && last.content.every((p) => p.type === 'text' && typeof p.text === 'string'));
  const lastExtra = !plainText || hasNonTextParts(last) || last.tool_calls || last.name ? canonicalJson({ c: last.content ?? null, t: last.tool_calls, n: last.name }) : '';
  const exactKey = sha256(`${scope}\n${lastText}\n${lastExtra}`);
  // Only a plain-text user turn is embedded: images, tool results and assistant prefills are
  // served from the exact tier alone, since a near-duplicate of those is not the same question.
  const withinLength = input.semanticMaxChars === undefined || lastText.length <= input.semanticMaxChars;
  const semanticText = last.role === 'user' && !lastExtra && lastText.length > 0 && withinLength ? lastText : undefined;
  return { scope, exactKey, semanticText };
}
