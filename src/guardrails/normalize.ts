/**
 * The text the injection screen reads: every way a prompt can spell "ignore your instructions"
 * without those bytes is folded back to plain lowercase words before any feature looks at it.
 *
 * - `main`: NFKC (fullwidth and other compatibility forms), format characters dropped (zero-width
 *   space and joiners, word joiner, soft hyphen, bidi controls), Unicode tag characters removed,
 *   lowercased, leetspeak inside mixed letter/digit words undone ("1gn0r3" -> "ignore"), letters
 *   spelled one by one joined ("i.g.n.o.r.e", "i g n o r e" -> "ignore").
 * - `hidden`: payloads decoded from the prompt, each normalized as above: Unicode tag characters
 *   (invisible ASCII), base64 and hex runs that decode to readable text, and the whole prompt
 *   under ROT13 when the prompt mentions ROT13.
 * - `obfuscation`: how much hiding was found (zero-width inside words, leet words, spelled-out
 *   words, fullwidth letters), a feature on its own.
 *
 * Every step is one linear pass (no regex that can backtrack over its input), and decoding is
 * bounded (MAX_DECODED runs of at most MAX_RUN characters), so any prompt within the body limit
 * is normalized in time proportional to its length.
 */

export interface ScreenText {
  main: string;
  hidden: string[];
  obfuscation: number;
}

const MAX_DECODED = 8;
const MAX_RUN = 8192;
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const FORMAT = /\p{Cf}/gu;
const TAG_START = 0xe0000;
const TAG_END = 0xe007f;

/** Splits tag characters (invisible ASCII) out of a string. */
const HAS_TAG = /[\u{E0000}-\u{E007F}]/u;

function splitTags(text: string): { rest: string; tags: string } {
  if (ASCII_ONLY.test(text) || !HAS_TAG.test(text)) return { rest: text, tags: '' };
  let rest = '';
  let tags = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= TAG_START && cp <= TAG_END) {
      if (cp >= TAG_START + 0x20 && cp < TAG_START + 0x7f) tags += String.fromCharCode(cp - TAG_START);
    } else rest += ch;
  }
  return { rest, tags };
}

interface Folded {
  text: string;
  obfuscation: number;
}

// Each pattern looks at most ~80 characters from a start that follows a non-word character, so
// the passes stay linear however long the text is.
const isLower = (c: number) => c >= 97 && c <= 122;
const isLeetDigit = (c: number) => c === 48 || c === 49 || c === 51 || c === 52 || c === 53 || c === 55 || c === 64 || c === 36;
const isWordish = (c: number) => isLower(c) || (c >= 48 && c <= 57) || c === 64 || c === 36;

/** Undoes leetspeak in words of 3-40 characters that mix letters with 0 1 3 4 5 7 @ $ ("pr3v10us"). One pass. */
function unleetWords(text: string): { text: string; changed: number } {
  let out = '';
  let last = 0;
  let changed = 0;
  let start = -1;
  let letters = 0;
  let leet = 0;
  let other = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (isWordish(c)) {
      if (start < 0) {
        start = i;
        letters = leet = other = 0;
      }
      if (isLower(c)) letters++;
      else if (isLeetDigit(c)) leet++;
      else other++;
      continue;
    }
    if (start >= 0 && letters > 0 && leet > 0 && other === 0 && i - start >= 3 && i - start <= 40) {
      let word = '';
      for (let k = start; k < i; k++) word += LEET[text[k]!] ?? text[k];
      out += text.slice(last, start) + word;
      last = i;
      changed++;
    }
    start = -1;
  }
  return { text: changed ? out + text.slice(last) : text, changed };
}
/** Letters spelled one by one: "i.g.n.o.r.e", "i-g-n-o-r-e", "i_g_n_o_r_e". */
const SPELLED = /(?<![a-z0-9])[a-z](?:[.\-_][a-z]){3,40}(?![a-z0-9])/g;
/** "i g n o r e": four or more single letters separated by single spaces. */
const SPACED = /(?<![a-z0-9])[a-z](?: [a-z]){3,40}(?![a-z0-9])/g;
const LEET_HINT = /[a-z][013457@$]|[013457@$][a-z]/;
const SPELL_HINT = /[a-z][.\-_ ][a-z][.\-_ ][a-z][.\-_ ][a-z]/;

/** NFKC, format characters out, lowercase, leetspeak and spelled-out letters folded. */
function fold(input: string): Folded {
  let obfuscation = 0;
  let text = input;
  if (!ASCII_ONLY.test(text)) {
    const before = text.length;
    text = text.replace(FORMAT, '');
    if (text.length < before) obfuscation += 1;
    const nfkc = text.normalize('NFKC');
    if (nfkc !== text) obfuscation += 1;
    text = nfkc;
  }
  text = text.toLowerCase();
  if (LEET_HINT.test(text)) {
    const r = unleetWords(text);
    text = r.text;
    obfuscation += r.changed * 0.5;
  }
  if (SPELL_HINT.test(text)) {
    text = text.replace(SPELLED, (w) => {
      obfuscation += 1;
      return w.replace(/[.\-_]/g, '');
    });
    text = text.replace(SPACED, (w) => {
      obfuscation += 1;
      return w.replace(/ /g, '');
    });
  }
  return { text, obfuscation };
}

const PRINTABLE = /[^\x20-\x7e\n\r\t]/g;
/** Decoded bytes that read as text: printable ASCII, with spaces between words. */
function readable(s: string): boolean {
  if (s.length < 8) return false;
  const bad = s.match(PRINTABLE)?.length ?? 0;
  if (bad > s.length * 0.05) return false;
  return /[a-z]{2,}[ ,.:][a-z]{2,}/i.test(s);
}

const isB64 = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 95 || c === 45;
const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** Runs of 16+ base64 (or base64url) characters, found in one pass; hex runs are decoded as hex. */
/** Cheap test first: most prompts have no run of 16 base64 characters at all. */
const B64_HINT = /[A-Za-z0-9+/_-]{16}/;

function decodedPayloads(text: string): string[] {
  const out: string[] = [];
  if (!B64_HINT.test(text)) return out;
  let start = -1;
  for (let i = 0; i <= text.length && out.length < MAX_DECODED; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (isB64(c)) {
      if (start < 0) start = i;
      continue;
    }
    if (start < 0) continue;
    let end = i;
    while (end < text.length && end - i < 2 && text.charCodeAt(end) === 61) end++; // '=' padding
    const len = i - start;
    if (len >= 16) {
      const run = text.slice(start, Math.min(end, start + MAX_RUN));
      let hex = len % 2 === 0;
      for (let k = start; hex && k < i; k++) hex = isHex(text.charCodeAt(k));
      const decoded = hex ? Buffer.from(run, 'hex').toString('latin1') : Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
      if (readable(decoded)) out.push(decoded);
    }
    start = -1;
  }
  return out;
}

function rot13(s: string): string {
  return s.replace(/[a-z]/gi, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

export function screenText(input: string): ScreenText {
  const { rest, tags } = splitTags(input);
  const main = fold(rest);
  const hidden: string[] = [];
  let obfuscation = main.obfuscation;
  if (tags) {
    hidden.push(fold(tags).text);
    obfuscation += 2;
  }
  for (const payload of decodedPayloads(rest)) hidden.push(fold(payload).text);
  if (/\brot[- ]?13\b/.test(main.text)) hidden.push(rot13(main.text));
  return { main: main.text, hidden, obfuscation };
}
