import { isIPv6 } from 'node:net';
import type { ChatMessage } from '../providers/types.js';
import { detectionText } from './detection-text.js';

/**
 * Data-loss protection for prompts: find personal data and secrets before a prompt goes upstream
 * or into the cache, and either mask them with typed placeholders (restored in the answer) or
 * refuse the request. Raw values live only inside the closure of one request's `restore`; nothing
 * here logs, and no returned field other than `restore`'s output contains them.
 */

export type RedactionMode = 'off' | 'mask' | 'block';
export const REDACTION_MODES: readonly RedactionMode[] = ['off', 'mask', 'block'];

export type PiiKind = 'EMAIL' | 'PHONE' | 'CREDIT_CARD' | 'IBAN' | 'SSN' | 'IP_ADDRESS' | 'SECRET';

/** Words for a 400 message or a log line. */
export const PII_KIND_LABELS: Readonly<Record<PiiKind, string>> = {
  EMAIL: 'e-mail address',
  PHONE: 'phone number',
  CREDIT_CARD: 'credit card number',
  IBAN: 'IBAN',
  SSN: 'US social security number',
  IP_ADDRESS: 'IP address',
  SECRET: 'API key or token',
};

export function isRedactionMode(value: unknown): value is RedactionMode {
  return typeof value === 'string' && (REDACTION_MODES as readonly string[]).includes(value);
}

/** Where a value was found; deliberately without the value itself. */
export interface PiiSpan {
  kind: PiiKind;
  start: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------
// Checksums: a 16-digit order number or a random code must not be masked as a card or an IBAN.

export function isValidLuhn(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1. */
export function isValidIban(candidate: string): boolean {
  const iban = candidate.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

// ---------------------------------------------------------------------------------------------
// Detectors. Each returns candidate spans; `findPii` resolves overlaps by detector order, so the
// most specific (secrets, e-mails) claim their text before the loose ones (phone) look at it.
// Every pattern is anchored by a look-behind so the engine never rescans inside a run of the same
// characters: these run on whole prompts and must stay linear.

/** `kind: null` claims text as "looked like PII, checked, is not" so no looser detector takes it. */
type CandidateSpan = Omit<PiiSpan, 'kind'> & { kind: PiiKind | null };
type Detector = (text: string) => CandidateSpan[];

function regexSpans(text: string, pattern: RegExp, kind: PiiKind, accept?: (match: string) => boolean): PiiSpan[] {
  const spans: PiiSpan[] = [];
  for (const m of text.matchAll(pattern)) {
    if (accept && !accept(m[0])) continue;
    spans.push({ kind, start: m.index, end: m.index + m[0].length });
  }
  return spans;
}

const SECRET_PATTERNS: RegExp[] = [
  // OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-api03-) keys share the prefix.
  /(?<![\w-])sk-[A-Za-z0-9_-]{20,}/g,
  /(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])/g,
  /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}/g,
  /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}/g,
  /(?<![A-Za-z0-9_])xox[abprs]-[A-Za-z0-9-]{10,}/g,
  /(?<![A-Za-z0-9_])AIza[0-9A-Za-z_-]{35}/g,
  // JWTs: header.payload.signature, header always starts with base64 of '{"'.
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
];

/**
 * Only the token after "Bearer" is masked, so "Authorization: Bearer [SECRET_1]" still reads.
 * A digit is required: prose like "Bearer authentication-mechanisms" is not a token.
 */
const BEARER_TOKEN = /(?<=\bBearer\s{1,4})[A-Za-z0-9._~+/-]{16,}=*/gi;

const detectSecrets: Detector = (text) => [
  ...SECRET_PATTERNS.flatMap((p) => regexSpans(text, p, 'SECRET')),
  ...regexSpans(text, BEARER_TOKEN, 'SECRET', (m) => /\d/.test(m)),
];

const detectEmails: Detector = (text) =>
  regexSpans(
    text,
    /(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g,
    'EMAIL',
  );

/**
 * IBANs are written either in one block or in groups of four. A grouped IBAN followed by a
 * four-character word ("... 7034 LOAN") is matched with the word, so on a checksum failure the
 * trailing groups are dropped one by one before giving up. A string with the shape of an IBAN but
 * a wrong checksum is claimed without a kind: its digits must not then pass as a card number.
 */
const detectIbans: Detector = (text) => {
  const spans: CandidateSpan[] = [];
  const compact = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}[A-Z0-9]{11,30}(?![A-Za-z0-9])/g;
  for (const m of text.matchAll(compact)) {
    spans.push({ kind: isValidIban(m[0]) ? 'IBAN' : null, start: m.index, end: m.index + m[0].length });
  }
  const grouped = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?(?![A-Za-z0-9])/g;
  for (const m of text.matchAll(grouped)) {
    let candidate = m[0];
    let valid = false;
    while (!valid && candidate.replace(/ /g, '').length >= 15) {
      valid = isValidIban(candidate);
      if (valid) break;
      const lastSpace = candidate.lastIndexOf(' ');
      if (lastSpace < 0) break;
      candidate = candidate.slice(0, lastSpace);
    }
    if (valid) spans.push({ kind: 'IBAN', start: m.index, end: m.index + candidate.length });
    else spans.push({ kind: null, start: m.index, end: m.index + m[0].length });
  }
  return spans;
};

/**
 * 13-19 digits, optionally grouped with single spaces or dashes, issuer digit 2-6, Luhn-valid.
 *
 * The number is bounded by what is not a digit, so an unbroken card number glued to letters
 * ("n4111111111111111", "card_4111...", "card-4111...") is found (a grouped one must stand apart
 * from letters, or "sha256 4312720068..." would be a card), while a run inside a longer digit run (a 20+ digit id)
 * or after "+" (a phone number), "." (a decimal fraction such as 0.4111111111111111) or a
 * number-and-dash ("12-4111...") is not. The one place letters and digits mix by chance is a hex
 * string: a hash or an id of 24+ hex characters is left alone, as a random one would otherwise
 * hold a Luhn-valid run about once in a few hundred.
 */
const CARD_CANDIDATE = /(?<![\d+.])(?<!(?<![A-Za-z_])-)[2-6]\d(?:[ -]?\d){11,17}(?!\d)/g;
const HEX_TOKEN = /^(?=[0-9A-Za-z]*[A-Fa-f])[0-9A-Fa-f]{24,}$/;

const detectCards: Detector = (text) => {
  const spans: PiiSpan[] = [];
  // The alphanumeric token around the last glued candidate: candidates come in text order, so
  // each token is measured once however many candidates it holds (linear on a 1 MB token).
  let tokenEnd = -1;
  let tokenIsHex = false;
  for (const m of text.matchAll(CARD_CANDIDATE)) {
    const candidate = m[0];
    if (/[ -]{2}/.test(candidate) || /[ ][-]|[-][ ]/.test(candidate)) continue;
    if (!isValidLuhn(candidate.replace(/[ -]/g, ''))) continue;
    const start = m.index;
    const end = start + candidate.length;
    if (isAlnum(text, start - 1) || isAlnum(text, end) || text[start - 1] === '_' || text[end] === '_') {
      // Glued to letters: only an unbroken run counts ("sha256 4312720068..." is a word and a
      // number, not a grouped card), and not inside a hex string.
      if (/[ -]/.test(candidate)) continue;
      if (start >= tokenEnd) {
        let a = start;
        let b = end;
        while (a > 0 && isAlnum(text, a - 1)) a--;
        while (b < text.length && isAlnum(text, b)) b++;
        tokenEnd = b;
        tokenIsHex = HEX_TOKEN.test(text.slice(a, b));
      }
      if (tokenIsHex) continue;
    }
    spans.push({ kind: 'CREDIT_CARD', start, end });
  }
  return spans;
};

function isAlnum(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const c = text.charCodeAt(i);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Dashed form only: a bare 9-digit number is far more often something else. */
const detectSsns: Detector = (text) =>
  regexSpans(text, /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g, 'SSN');

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const detectIpv4: Detector = (text) =>
  regexSpans(
    text,
    // Not inside a longer dotted run such as a version "1.2.3.4.5".
    new RegExp(`(?<![\\w.])${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}(?![\\w]|\\.\\d)`, 'g'),
    'IP_ADDRESS',
  );

/**
 * Candidates are colon runs of hex groups, checked by node's own parser; at least two non-empty
 * groups keeps C++ "a::b" and a lone "::" out.
 */
const detectIpv6: Detector = (text) =>
  regexSpans(
    text,
    /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])/g,
    'IP_ADDRESS',
    (m) => isIPv6(m) && m.split(':').filter((g) => g !== '').length >= 2,
  );

/**
 * A digit run with single separators is a phone number when it has the shape of one:
 * - international: "+" and 8-15 digits (E.164), or "00" prefix with separators;
 * - North American: 3-3-4 groups (optionally a leading 1), separated;
 * - national trunk format: leading 0, 9-11 digits, one separator style ("020 7946 0958",
 *   "06 12 34 56 78", "030-12345678").
 * Years, dates, prices and small numbers fail all three.
 */
function looksLikePhone(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  if (candidate.startsWith('+')) return digits.length >= 8 && digits.length <= 15;
  const groups = candidate.split(/\D+/).filter((g) => g !== '');
  const separators = new Set(candidate.replace(/[\d()]/g, ''));
  const lengths = groups.map((g) => g.length).join(',');
  if ((lengths === '3,3,4' || (lengths === '1,3,3,4' && groups[0] === '1')) && groups.length > 1) {
    return !separators.has('/') && (candidate.match(/[ .\-/]|\)/g)?.length ?? 0) >= 2;
  }
  if (digits.startsWith('00')) {
    return groups.length > 1 && digits.length >= 10 && digits.length <= 17 && separators.size <= 1;
  }
  if (digits.startsWith('0')) {
    if (digits.length < 9 || digits.length > 11) return false;
    if (groups.slice(1).some((g) => g.length < 2)) return false;
    if (separators.size > 1) return false;
    return (candidate.match(/\//g)?.length ?? 0) <= 1;
  }
  return false;
}

const detectPhones: Detector = (text) =>
  regexSpans(
    text,
    /(?<![\w+@/.-])\+?(?:\(\d{1,4}\)|\d)(?:[ .\-/]?(?:\(\d{1,4}\)|\d)){5,22}(?![\w@]|[.\-/]?\d)/g,
    'PHONE',
    looksLikePhone,
  );

const DETECTORS: Detector[] = [
  detectSecrets,
  detectEmails,
  detectIbans,
  detectCards,
  detectSsns,
  detectIpv6,
  detectIpv4,
  detectPhones,
];

/** Non-overlapping findings in text order; earlier detectors win overlaps. */
export function findPii(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  // One flag per character keeps overlap checks linear when a large prompt holds many findings.
  let taken: Uint8Array | undefined;
  for (const detect of DETECTORS) {
    for (const span of detect(text)) {
      taken ??= new Uint8Array(text.length);
      if (taken.subarray(span.start, span.end).includes(1)) continue;
      taken.fill(1, span.start, span.end);
      if (span.kind !== null) found.push(span as PiiSpan);
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/**
 * Cheap test on the detection text: every detector needs a digit, '@', ':' or a secret's prefix.
 * Most strings of a request (roles, names, schema words) fail it and skip the detectors.
 */
const MAYBE_PII = /[\d@:]|sk-|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abprs]-|AIza|eyJ|bearer/i;

/**
 * Findings in `original` as it was sent, detected on its normalized form (fullwidth digits,
 * zero-width characters between digits, odd dashes and spaces; see detection-text.ts). Spans are
 * in the original's offsets and cover every original character of the value.
 */
export function findPiiIn(original: string): PiiSpan[] {
  const d = detectionText(original);
  if (!MAYBE_PII.test(d.text)) return [];
  const spans: PiiSpan[] = [];
  let lastEnd = 0;
  for (const span of findPii(d.text)) {
    const [start, end] = d.toOriginal(span.start, span.end);
    if (start < lastEnd || end <= start) continue; // one original character split over two findings
    spans.push({ kind: span.kind, start, end });
    lastEnd = end;
  }
  return spans;
}

/** For error messages and logs that might quote a credential: replaces secrets only, untyped. */
export function scrubSecrets(text: string): string {
  const spans = detectSecrets(text).sort((a, b) => b.start - a.start);
  let out = text;
  let lastStart = Infinity;
  for (const s of spans) {
    if (s.end > lastStart) continue;
    out = out.slice(0, s.start) + '[REDACTED]' + out.slice(s.end);
    lastStart = s.start;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Placeholders and restore.

const PLACEHOLDER_PATTERN = /\[(EMAIL|PHONE|CREDIT_CARD|IBAN|SSN|IP_ADDRESS|SECRET)_(\d{1,6})\]/g;

/** One request's value <-> placeholder table. Same value, same placeholder. */
class PlaceholderTable {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();
  private readonly counters = new Map<PiiKind, number>();

  placeholderFor(kind: PiiKind, value: string): string {
    const key = `${kind}\u0000${value}`;
    const existing = this.byValue.get(key);
    if (existing) return existing;
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    const placeholder = `[${kind}_${n}]`;
    this.byValue.set(key, placeholder);
    this.byPlaceholder.set(placeholder, value);
    return placeholder;
  }

  get placeholders(): string[] {
    return [...this.byPlaceholder.keys()];
  }

  /** [placeholder, value] in issue order: what a worker sends back (see redactBodyParts). */
  entries(): Array<[string, string]> {
    return [...this.byPlaceholder];
  }

  static from(entries: Array<[string, string]>): PlaceholderTable {
    const table = new PlaceholderTable();
    for (const [placeholder, value] of entries) {
      const m = /^\[([A-Z_]+)_(\d+)\]$/.exec(placeholder)!;
      const kind = m[1] as PiiKind;
      table.byValue.set(`${kind}\u0000${value}`, placeholder);
      table.byPlaceholder.set(placeholder, value);
      table.counters.set(kind, Math.max(table.counters.get(kind) ?? 0, Number(m[2])));
    }
    return table;
  }

  restore(text: string): string {
    if (this.byPlaceholder.size === 0 || !text.includes('[')) return text;
    return text.replace(PLACEHOLDER_PATTERN, (whole) => this.byPlaceholder.get(whole) ?? whole);
  }
}

/**
 * Restores placeholders in a stream of text deltas, where "[EMA" may end one chunk and "IL_1]"
 * begin the next. Holds back only a tail that is still a prefix of a placeholder this request
 * issued, so ordinary "[" in the text is not delayed. Use one per (choice, field) stream.
 */
export interface StreamRestorer {
  /** Restored text that is safe to emit now (possibly ''). */
  push(delta: string): string;
  /** Whatever was held back, at the end of the stream. */
  flush(): string;
}

function createStreamRestorer(table: PlaceholderTable): StreamRestorer {
  const placeholders = table.placeholders;
  const longest = placeholders.reduce((n, p) => Math.max(n, p.length), 0);
  let held = '';
  return {
    push(delta: string): string {
      if (placeholders.length === 0) return delta;
      const text = held + delta;
      held = '';
      const open = text.lastIndexOf('[');
      if (open >= 0 && text.length - open < longest && !text.includes(']', open)) {
        const tail = text.slice(open);
        if (placeholders.some((p) => p.startsWith(tail))) {
          held = tail;
          return table.restore(text.slice(0, open));
        }
      }
      return table.restore(text);
    },
    flush(): string {
      const rest = held;
      held = '';
      return table.restore(rest);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Requests.

export interface RedactionResult {
  /** The messages to send upstream and to key the cache by (masked in `mask` mode). */
  messages: ChatMessage[];
  /** Occurrences per kind, for metrics and logs. */
  findings: Partial<Record<PiiKind, number>>;
  /** In `block` mode, the kinds found (sorted); the gateway answers 400 when non-empty. */
  blockedKinds: PiiKind[];
  /** Puts the original values back where the model echoed a placeholder. */
  restore(text: string): string;
  /** A fresh restorer for one streamed text field. */
  createStreamRestorer(): StreamRestorer;
}

function maskText(text: string, table: PlaceholderTable, findings: Partial<Record<PiiKind, number>>): string {
  const spans = findPiiIn(text);
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const span of spans) {
    findings[span.kind] = (findings[span.kind] ?? 0) + 1;
    out += text.slice(at, span.start) + table.placeholderFor(span.kind, text.slice(span.start, span.end));
    at = span.end;
  }
  return out + text.slice(at);
}

/** Keys whose string values are structure or routing, not text: never scanned, never changed. */
const STRUCTURAL_KEYS = new Set(['model', 'role', 'type']);
/** Base64 payloads (images, audio, files): scanning them could only corrupt them. */
const PAYLOAD_KEYS = new Set(['data', 'file_data', 'b64_json']);
/** JSON nested deeper than this is refused rather than walked (chat bodies are refused earlier). */
export const MAX_REDACTION_DEPTH = 64;

export class RedactionDepthError extends Error {
  constructor() {
    super(`JSON nested deeper than ${MAX_REDACTION_DEPTH} levels cannot be checked for sensitive data`);
  }
}

/**
 * Applies `edit` to every string that goes upstream: values anywhere in the body (message content
 * and names, tool descriptions and schemas, stop, user, metadata, image URLs, ...) and object keys
 * (metadata keys are free text too), except structural values (STRUCTURAL_KEYS), base64 payloads
 * and data: URLs. Returns the input itself when nothing changed, else a copy.
 */
function mapStrings(value: unknown, edit: (text: string) => string, key: string | undefined, depth: number): unknown {
  if (typeof value === 'string') {
    if (key !== undefined && (STRUCTURAL_KEYS.has(key) || PAYLOAD_KEYS.has(key))) return value;
    if (value.startsWith('data:')) return value;
    return edit(value);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_REDACTION_DEPTH) throw new RedactionDepthError();
  if (Array.isArray(value)) {
    let changed = false;
    // Array items keep their parent's key: "type": ["string", "null"] stays structural.
    const out = value.map((item) => {
      const next = mapStrings(item, edit, key, depth + 1);
      if (next !== item) changed = true;
      return next;
    });
    return changed ? out : value;
  }
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const nextKey = STRUCTURAL_KEYS.has(k) ? k : edit(k);
    const next = mapStrings(v, edit, k, depth + 1);
    if (nextKey !== k || next !== v) changed = true;
    out[nextKey] = next;
  }
  return changed ? out : value;
}

const IDENTITY_RESULT_BASE = {
  blockedKinds: [] as PiiKind[],
  restore: (text: string) => text,
  createStreamRestorer: (): StreamRestorer => ({ push: (d) => d, flush: () => '' }),
};

export interface BodyRedaction<T> extends Omit<RedactionResult, 'messages'> {
  /** The body to send upstream and to key the cache by (masked in `mask` mode; the input when unchanged). */
  body: T;
}

/**
 * The outcome of redactBody as plain data (structured-cloneable): what a redaction worker returns.
 * `body` is absent when nothing changed (the caller keeps its own input).
 */
export interface RedactionParts {
  body?: unknown;
  findings: Partial<Record<PiiKind, number>>;
  blockedKinds: PiiKind[];
  /** [placeholder, original value] in the order they were issued (mask mode). */
  placeholders: Array<[string, string]>;
}

/** redactBody's work without the closures (see redactionFromParts). */
export function redactBodyParts(body: unknown, mode: RedactionMode): RedactionParts {
  const findings: Partial<Record<PiiKind, number>> = {};
  if (mode === 'off') return { findings, blockedKinds: [], placeholders: [] };
  if (mode === 'block') {
    mapStrings(body, (text) => {
      for (const span of findPiiIn(text)) findings[span.kind] = (findings[span.kind] ?? 0) + 1;
      return text;
    }, undefined, 0);
    return { findings, blockedKinds: (Object.keys(findings) as PiiKind[]).sort(), placeholders: [] };
  }
  const table = new PlaceholderTable();
  const masked = mapStrings(body, (text) => maskText(text, table, findings), undefined, 0);
  return { ...(masked !== body ? { body: masked } : {}), findings, blockedKinds: [], placeholders: table.entries() };
}

/** A BodyRedaction from redactBodyParts' data; `input` is the body as the client sent it. */
export function redactionFromParts<T>(input: T, mode: RedactionMode, parts: RedactionParts): BodyRedaction<T> {
  const body = ('body' in parts ? parts.body : input) as T;
  if (mode !== 'mask') return { ...IDENTITY_RESULT_BASE, body, findings: parts.findings, blockedKinds: parts.blockedKinds };
  const table = PlaceholderTable.from(parts.placeholders);
  return {
    body,
    findings: parts.findings,
    blockedKinds: [],
    restore: (text) => table.restore(text),
    createStreamRestorer: () => createStreamRestorer(table),
  };
}

/**
 * Checks every string of a JSON body that goes upstream (see mapStrings). `mask` replaces each
 * finding with a typed placeholder, the same value always with the same one; `block` only counts
 * (the caller refuses when blockedKinds is non-empty). Throws RedactionDepthError on JSON nested
 * deeper than MAX_REDACTION_DEPTH. Synchronous: for a large body use RedactionPool (off the
 * event loop, same result).
 */
export function redactBody<T>(body: T, mode: RedactionMode): BodyRedaction<T> {
  return redactionFromParts(body, mode, redactBodyParts(body, mode));
}

/** redactBody for a list of messages. */
export function redactRequest(messages: ChatMessage[], mode: RedactionMode): RedactionResult {
  const { body, ...rest } = redactBody({ messages }, mode);
  return { ...rest, messages: body.messages };
}
