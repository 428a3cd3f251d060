import { readFileSync } from 'node:fs';
import { compileSafePattern, UnsafePatternError } from './safe-regex.js';

/**
 * Custom deny terms and patterns (MODERATION_DENY_FILE, or `terms`/`patterns` of a policy check).
 * Terms match case-insensitively as whole words (or whole phrases) on the text with format
 * characters removed and NFKC applied, so "f\u200boo" and fullwidth "ｆｏｏ" match "foo". Patterns
 * are JavaScript regexes written /like this/flags, checked by compileSafePattern.
 */

export interface DenySpan {
  start: number;
  end: number;
}

export class DenyList {
  private readonly termRe?: RegExp;
  readonly longest: number;

  constructor(
    readonly terms: string[],
    readonly patterns: RegExp[],
  ) {
    const escaped = terms.map((t) => t.normalize('NFKC').toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'));
    // Longest first, so "bad word" wins over "bad". Word edges only where the term has a word character at that edge.
    if (escaped.length) {
      const alts = escaped
        .sort((a, b) => b.length - a.length)
        .map((t) => `${/^\w/.test(t) ? '(?<![\\p{L}\\p{N}_])' : ''}${t}${/\w$/.test(t) ? '(?![\\p{L}\\p{N}_])' : ''}`);
      this.termRe = new RegExp(alts.join('|'), 'giu');
    }
    this.longest = Math.max(0, ...terms.map((t) => t.length));
  }

  get empty(): boolean {
    return this.terms.length === 0 && this.patterns.length === 0;
  }

  /** A stable description for policy fingerprints. */
  describe(): string {
    return JSON.stringify([this.terms, this.patterns.map((p) => `/${p.source}/${p.flags}`)]);
  }

  /** Matches in `text` (offsets in `text`), in order, not overlapping. */
  find(text: string): DenySpan[] {
    const spans: DenySpan[] = [];
    const folded = foldForTerms(text);
    if (this.termRe) {
      this.termRe.lastIndex = 0;
      for (const m of folded.text.matchAll(this.termRe)) spans.push(folded.toOriginal(m.index, m.index + m[0].length));
    }
    for (const p of this.patterns) {
      p.lastIndex = 0;
      for (const m of text.matchAll(p)) {
        if (m[0].length === 0) continue;
        spans.push({ start: m.index, end: m.index + m[0].length });
      }
    }
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    const out: DenySpan[] = [];
    for (const s of spans) if (!out.length || s.start >= out[out.length - 1]!.end) out.push(s);
    return out;
  }
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;
const FORMAT = /^\p{Cf}$/u;

/** Lowercase, NFKC per code point, format characters dropped, with a map back to the original. */
function foldForTerms(original: string): { text: string; toOriginal: (s: number, e: number) => DenySpan } {
  if (ASCII_ONLY.test(original)) return { text: original.toLowerCase(), toOriginal: (start, end) => ({ start, end }) };
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < original.length; ) {
    const cp = original.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    const ch = original.slice(i, i + w);
    const out = cp < 0x80 ? ch.toLowerCase() : FORMAT.test(ch) ? '' : ch.normalize('NFKC').toLowerCase();
    for (let k = 0; k < out.length; k++) {
      starts.push(i);
      ends.push(i + w);
    }
    text += out;
    i += w;
  }
  return { text, toOriginal: (s, e) => ({ start: starts[s] ?? original.length, end: e > s ? ends[e - 1]! : (starts[s] ?? original.length) }) };
}

export class DenyListError extends Error {}

/** Parses deny lines: `/regex/flags` is a pattern, anything else a term; blank lines and `#` comments skipped. */
export function parseDenyLines(lines: string[], where: (line: number) => string): DenyList {
  const terms: string[] = [];
  const patterns: RegExp[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^\/(.*)\/([a-z]*)$/.exec(line);
    if (m) {
      try {
        patterns.push(compileSafePattern(m[1]!, m[2] || 'i'));
      } catch (err) {
        if (err instanceof UnsafePatternError) throw new DenyListError(`${where(i + 1)}: pattern ${line}: ${err.message}`);
        throw err;
      }
    } else terms.push(line);
  });
  return new DenyList(terms, patterns);
}

export function loadDenyFile(file: string): DenyList {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DenyListError(`cannot read deny file ${file} (MODERATION_DENY_FILE): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseDenyLines(text.split(/\r?\n/), (line) => `${file}:${line}`);
}
