import { findPiiIn, PII_KIND_LABELS, type PiiKind } from '../policy/redaction.js';
import type { ChatCompletion, ChatMessage, ChatRequest } from '../providers/types.js';
import { moderate } from './external-moderation.js';
import type { GuardAction, GuardCheck, GuardPolicy, GuardStage } from './policy.js';
import { screenPrompt } from './screening.js';

/**
 * Runs a policy's checks, in order, on a request's text or an answer's text. `block` stops at
 * once; `mask` rewrites the text and goes on; `flag` and `log` only record. Decisions carry
 * names, scores and kinds, never the text.
 */

export interface GuardDecision {
  stage: GuardStage;
  check: GuardCheck['check'];
  action: GuardAction;
  /** injection: the score; deny / pii: the number of matches; length: the length. */
  value?: number;
  /** injection: the families that scored; pii: kinds; moderation: categories. */
  detail?: string[];
}

export interface CheckOutcome {
  decisions: GuardDecision[];
  blocked?: GuardDecision;
}

/** Placeholder for a masked output span: not a redaction placeholder, so it is never "restored". */
export const maskLabel = (what: string) => `[REDACTED:${what}]`;

function contentText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p.text === 'string' ? p.text : '')).join('\n');
  return '';
}

/** What the input checks read: the user's and tools' messages (the application's own system prompt is trusted). */
export function screenedTexts(request: ChatRequest): string[] {
  return request.messages.filter((m) => m.role === 'user' || m.role === 'tool' || m.role === 'function').map((m) => contentText(m.content)).filter((t) => t.length > 0);
}

function replaceSpans(text: string, spans: Array<{ start: number; end: number; label: string }>): string {
  let out = '';
  let at = 0;
  for (const s of spans) {
    out += text.slice(at, s.start) + s.label;
    at = s.end;
  }
  return out + text.slice(at);
}

export function piiSpans(text: string, kinds?: PiiKind[]) {
  return findPiiIn(text).filter((s) => !kinds || kinds.includes(s.kind));
}

/**
 * One synchronous text check (everything but the external call). Returns the decision if the
 * check fired and, for mask, the rewritten text.
 */
export function checkText(check: GuardCheck, stage: GuardStage, texts: string[]): { decision?: GuardDecision; texts: string[] } {
  switch (check.check) {
    case 'injection': {
      let best = { score: 0, reasons: [] as string[] };
      for (const t of texts) {
        const r = screenPrompt(t);
        if (r.score > best.score) best = r;
      }
      if (best.score < check.threshold) return { texts };
      return { texts, decision: { stage, check: 'injection', action: check.action, value: Number(best.score.toFixed(3)), detail: best.reasons } };
    }
    case 'deny': {
      let count = 0;
      const out = texts.map((t) => {
        const spans = check.deny.find(t);
        count += spans.length;
        return check.action === 'mask' && spans.length ? replaceSpans(t, spans.map((s) => ({ ...s, label: maskLabel('DENIED') }))) : t;
      });
      return count ? { texts: out, decision: { stage, check: 'deny', action: check.action, value: count } } : { texts };
    }
    case 'pii': {
      let count = 0;
      const kinds = new Set<string>();
      const out = texts.map((t) => {
        const spans = piiSpans(t, check.kinds);
        count += spans.length;
        spans.forEach((s) => kinds.add(s.kind));
        return check.action === 'mask' && spans.length ? replaceSpans(t, spans.map((s) => ({ ...s, label: maskLabel(s.kind) }))) : t;
      });
      return count ? { texts: out, decision: { stage, check: 'pii', action: check.action, value: count, detail: [...kinds].sort() } } : { texts };
    }
    case 'length': {
      const total = texts.reduce((n, t) => n + t.length, 0);
      if (total <= check.maxChars) return { texts };
      let left = check.maxChars;
      const out = check.action === 'mask' ? texts.map((t) => { const kept = t.slice(0, Math.max(0, left)); left -= kept.length; return kept; }) : texts;
      return { texts: out, decision: { stage, check: 'length', action: check.action, value: total } };
    }
    case 'moderation':
      return { texts }; // asynchronous: see runChecks
  }
}

/** Texts longer than two windows are screened window by window, with a turn of the event loop between windows. */
const SCREEN_WINDOW = 4096;
const SCREEN_OVERLAP = 256;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The injection score of the texts: the highest of any text (or window of a long one). A long
 * document is screened in overlapping windows, and other requests get the event loop between
 * windows, so a prompt near the body limit never stalls the gateway.
 */
async function screenTexts(texts: string[]): Promise<{ score: number; reasons: string[] }> {
  let best = { score: 0, reasons: [] as string[] };
  for (const t of texts) {
    if (t.length <= SCREEN_WINDOW * 2) {
      const r = screenPrompt(t);
      if (r.score > best.score) best = r;
      continue;
    }
    for (let at = 0; at < t.length; at += SCREEN_WINDOW - SCREEN_OVERLAP) {
      const r = screenPrompt(t.slice(at, at + SCREEN_WINDOW));
      if (r.score > best.score) best = r;
      await yieldToLoop();
    }
  }
  return best;
}

/** Runs `checks` over `texts`; returns the (possibly masked) texts and what was decided. */
export async function runChecks(checks: GuardCheck[], stage: GuardStage, texts: string[]): Promise<CheckOutcome & { texts: string[] }> {
  const decisions: GuardDecision[] = [];
  let current = texts;
  for (const check of checks) {
    let decision: GuardDecision | undefined;
    if (check.check === 'moderation') {
      if (current.every((t) => t.length === 0)) continue;
      const verdict = await moderate(check.target, current.join('\n\n'));
      if (verdict.flagged || verdict.failed) {
        // A failed call under fail-open is only logged; under fail-closed it acts like a flag from the endpoint.
        decision = { stage, check: 'moderation', action: verdict.flagged ? check.action : 'log', detail: verdict.categories };
      }
    } else if (check.check === 'injection') {
      const best = await screenTexts(current);
      if (best.score >= check.threshold) decision = { stage, check: 'injection', action: check.action, value: Number(best.score.toFixed(3)), detail: best.reasons };
    } else {
      const r = checkText(check, stage, current);
      current = r.texts;
      decision = r.decision;
    }
    if (!decision) continue;
    decisions.push(decision);
    if (decision.action === 'block') return { decisions, blocked: decision, texts: current };
  }
  return { decisions, texts: current };
}

/** The input side of a policy on a request. Masking rewrites user and tool messages. */
export async function checkRequest(policy: GuardPolicy, request: ChatRequest): Promise<CheckOutcome & { request: ChatRequest }> {
  if (policy.input.length === 0) return { decisions: [], request };
  const texts = screenedTexts(request);
  if (texts.length === 0) return { decisions: [], request };
  const r = await runChecks(policy.input, 'input', texts);
  if (!r.decisions.some((d) => d.action === 'mask')) return { decisions: r.decisions, blocked: r.blocked, request };
  // Write the masked texts back, in the order screenedTexts read them.
  let k = 0;
  const messages = request.messages.map((m) => {
    if (!(m.role === 'user' || m.role === 'tool' || m.role === 'function')) return m;
    const t = contentText(m.content);
    if (t.length === 0) return m;
    const masked = r.texts[k++]!;
    return masked === t ? m : { ...m, content: masked };
  });
  return { decisions: r.decisions, blocked: r.blocked, request: { ...request, messages } };
}

/** The output side of a policy on a whole answer: choices' text content. */
export async function checkCompletion(policy: GuardPolicy, completion: ChatCompletion): Promise<CheckOutcome & { completion: ChatCompletion }> {
  if (policy.output.length === 0) return { decisions: [], completion };
  const texts = completion.choices.map((c) => (typeof c.message.content === 'string' ? c.message.content : ''));
  const r = await runChecks(policy.output, 'output', texts);
  if (!r.decisions.some((d) => d.action === 'mask')) return { decisions: r.decisions, blocked: r.blocked, completion };
  return {
    decisions: r.decisions,
    blocked: r.blocked,
    completion: { ...completion, choices: completion.choices.map((c, i) => (typeof c.message.content === 'string' ? { ...c, message: { ...c.message, content: r.texts[i]! } } : c)) },
  };
}

/** Words for an error message: what blocked the request or the answer. */
export function blockMessage(d: GuardDecision): string {
  const side = d.stage === 'input' ? 'request' : 'answer';
  switch (d.check) {
    case 'injection':
      return `the ${side} was blocked by the gateway's content policy: it looks like a prompt injection or jailbreak attempt (score ${d.value})`;
    case 'deny':
      return `the ${side} was blocked by the gateway's content policy: it contains a denied term or pattern`;
    case 'pii':
      return `the ${side} was blocked by the gateway's content policy: it contains sensitive data (${(d.detail ?? []).map((k) => PII_KIND_LABELS[k as PiiKind] ?? k).join(', ')})`;
    case 'length':
      return `the ${side} was blocked by the gateway's content policy: it is longer than allowed (${d.value} characters)`;
    case 'moderation':
      return `the ${side} was blocked by the gateway's content policy: the moderation service flagged it (${(d.detail ?? []).join(', ') || 'flagged'})`;
  }
}
