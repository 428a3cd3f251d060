/**
 * The text the PII detectors look at, and the way back to the original.
 *
 * Why: the detectors match ASCII shapes, so "４１１１ １１１１ …" (fullwidth digits) or a card
 * number with U+200B between its digits went upstream untouched. Each code point is mapped by NFKC
 * (fullwidth and other compatibility forms to their plain ones), dashes (\p{Pd}) to '-', spaces
 * (\p{Zs}) to ' ', and format characters (\p{Cf}: zero-width space and joiners, soft hyphen, word
 * joiner, BOM, bidi controls) are dropped. Every unit of the result remembers the original range
 * it came from, so a finding masks exactly the original characters (zero-width ones included) and
 * restore gives the client back exactly what it sent. The text that goes upstream is otherwise
 * left as it was.
 */

const ASCII_ONLY = /^[\x00-\x7f]*$/;
const FORMAT_OR_VARIANT = /[\p{Cf}\p{Pd}\p{Zs}]/u;
const FORMAT = /^\p{Cf}$/u;
const DASHES = /\p{Pd}/gu;
const SPACES = /\p{Zs}/gu;

export interface DetectionText {
  /** What the detectors scan. */
  text: string;
  /** Maps a span of `text` to the span of the original string it came from. */
  toOriginal(start: number, end: number): [number, number];
}

const identity = (text: string): DetectionText => ({ text, toOriginal: (start, end) => [start, end] });

function plain(ch: string): string {
  return ch.normalize('NFKC').replace(DASHES, '-').replace(SPACES, ' ');
}

/** Linear in the input: one pass, one normalize per non-ASCII code point. */
export function detectionText(original: string): DetectionText {
  // Fast paths: ASCII, or text that no rule changes (most non-Latin prose).
  if (ASCII_ONLY.test(original)) return identity(original);
  if (!FORMAT_OR_VARIANT.test(original) && original.normalize('NFKC') === original) return identity(original);

  const parts: string[] = [];
  // starts[k] / ends[k]: the original range of the k-th UTF-16 unit of the result.
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < original.length; ) {
    const code = original.codePointAt(i)!;
    const width = code > 0xffff ? 2 : 1;
    const ch = original.slice(i, i + width);
    const out = code < 0x80 ? ch : FORMAT.test(ch) ? '' : plain(ch);
    parts.push(out);
    for (let k = 0; k < out.length; k++) {
      starts.push(i);
      ends.push(i + width);
    }
    i += width;
  }
  const text = parts.join('');
  return {
    text,
    toOriginal: (start, end) => (end > start ? [starts[start]!, ends[end - 1]!] : [starts[start] ?? original.length, starts[start] ?? original.length]),
  };
}
