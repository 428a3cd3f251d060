/**
 * Splits text into pieces whose token counts add up to the text's count, so that tiktoken never sees
 * a long unbroken run.
 *
 * Why: tiktoken's byte-pair merge is quadratic in the length of one pre-tokenizer piece, and a run
 * of letters, punctuation or whitespace with nothing to break it is one piece ('h' x 150,000 took
 * 17.5 s; 50,000 CJK characters minutes; about 1 MB panics the WASM). Cutting such runs into
 * bounded pieces makes the cost linear in the input.
 *
 * Exactness: ordinary text is cut only where tiktoken's own pre-tokenizer (cl100k_base and
 * o200k_base alike) ends a piece: where whitespace follows a non-space character. Those cuts change no count. Only a
 * run of one class (letters, punctuation or whitespace) longer than RUN_CAP_BYTES, or a stretch of
 * SEGMENT_CHARS with no such boundary at all, is hard-cut, which may add about one token per cut:
 * those inputs are pathological ('hhhh...', base64 walls, minified blobs), and a count that is
 * bounded in time and close is what is wanted there.
 */

/**
 * Longest single-class run handed to tiktoken whole, in UTF-8 bytes (what tiktoken merges over):
 * 96 ASCII letters or 32 CJK characters. Prose rarely has longer runs in any language.
 */
export const RUN_CAP_BYTES = 96;
/** Ordinary text is encoded in segments of about this many characters: fewer WASM calls. */
export const SEGMENT_CHARS = 1024;

/** Candidates for a run tiktoken keeps in one piece: letters (with marks), punctuation, whitespace. */
const RUN = /[\p{L}\p{M}]{24,}|[^\s\p{L}\p{N}]{24,}|\s{24,}/gu;
const WORD_CHAR = /[\p{L}\p{N}]/u;
const SPACE = /\s/;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** A cut at i must not separate a surrogate pair. */
function safeCut(text: string, i: number): number {
  return i > 0 && i < text.length && isHighSurrogate(text.charCodeAt(i - 1)) ? i - 1 : i;
}

/**
 * True where tiktoken's pre-tokenizer always ends a piece: between a non-space character and the
 * whitespace after it, except a line break after punctuation (`.\n` is one piece). No piece
 * pattern continues a letter, digit or punctuation run into a space, and none looks behind, so the
 * pieces after the cut are the same whether or not the text before it is there.
 */
export function isPieceBoundary(text: string, i: number): boolean {
  if (i <= 0 || i >= text.length) return false;
  const c = text.charAt(i);
  const before = text.charAt(i - 1);
  if (!SPACE.test(c) || SPACE.test(before)) return false;
  return !(c === '\n' || c === '\r') || WORD_CHAR.test(before);
}

/** Ordinary text (no long runs) in segments of at most `segment` chars, cut at piece boundaries. */
function* segments(text: string, from: number, to: number, segment: number): Generator<string> {
  let start = from;
  while (to - start > segment) {
    let cut = -1;
    for (let i = start + segment; i > start + (segment >> 1); i--) {
      if (isPieceBoundary(text, i)) {
        cut = i;
        break;
      }
    }
    if (cut < 0) cut = safeCut(text, start + segment);
    if (cut <= start) cut = start + segment; // a lone surrogate pair at the edge: cut anyway
    yield text.slice(start, cut);
    start = cut;
  }
  if (to > start) yield text.slice(start, to);
}

function utf8Bytes(code: number): number {
  return code < 0x80 ? 1 : code < 0x800 ? 2 : isHighSurrogate(code) ? 2 /* +2 for the low half */ : 3;
}

/** One long run in pieces of at most RUN_CAP_BYTES UTF-8 bytes, never splitting a surrogate pair. */
function* runPieces(run: string): Generator<string> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < run.length; i++) {
    const b = utf8Bytes(run.charCodeAt(i));
    if (bytes + b > RUN_CAP_BYTES && i > start && !isHighSurrogate(run.charCodeAt(i - 1))) {
      yield run.slice(start, i);
      start = i;
      bytes = 0;
    }
    bytes += b;
  }
  if (run.length > start) yield run.slice(start);
}

/**
 * The pieces of `text` to encode one by one; their counts sum to the text's count (exactly for
 * ordinary text, see above). Every piece is at most `segment` characters and every single-class run
 * in it at most RUN_CAP_BYTES, so each encode costs bounded time.
 */
export function* boundedPieces(text: string, segment = SEGMENT_CHARS): Generator<string> {
  // The runs are found up front: the regex is shared, and a generator may be interleaved.
  const runs: Array<[number, number]> = [];
  RUN.lastIndex = 0;
  for (let m = RUN.exec(text); m; m = RUN.exec(text)) {
    if (Buffer.byteLength(m[0]) > RUN_CAP_BYTES) runs.push([m.index, m.index + m[0].length]);
  }
  let pos = 0;
  for (const [start, end] of runs) {
    yield* segments(text, pos, start, segment);
    yield* runPieces(text.slice(start, end));
    pos = end;
  }
  yield* segments(text, pos, text.length, segment);
}
