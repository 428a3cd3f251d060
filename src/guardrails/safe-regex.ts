/**
 * User-supplied patterns (MODERATION_DENY_FILE, GATEWAY_CONFIG) run on every prompt and answer,
 * so a pattern that backtracks catastrophically would stall the event loop for every request.
 * A pattern is accepted only if
 *   1. it has no backreferences and no quantified group that itself contains a quantifier
 *      (star height 1: "(a+)+", "(\w*)*", "(a|b+)*" are refused), and
 *   2. it runs fast on hostile probes at start: long runs of each character it mentions (and of a
 *      letter, a digit and a space), with and without a non-matching tail, each within a time
 *      bound. This catches what the static rule cannot prove, such as "\s*\s*x" or "a*a*a*b".
 * The error names the problem; callers prefix the file and line.
 */

const PROBE_LENGTH = 20_000;
/** Per probe; a linear pattern takes well under a millisecond on 20 000 characters. */
const PROBE_BUDGET_MS = 25;

/** True when the source has a quantified group containing a quantifier, or a backreference. */
function staticProblem(source: string): string | undefined {
  // Stack of "does this group contain a quantifier" flags.
  const stack: boolean[] = [false];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return 'backreferences are not allowed';
      if (!inClass && next === 'k' && source[i + 2] === '<') return 'backreferences are not allowed';
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      continue;
    }
    if (ch === '(') {
      stack.push(false);
      continue;
    }
    const quantifier = ch === '*' || ch === '+' || ch === '?' || (ch === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i)));
    if (ch === ')') {
      const inner = stack.pop() ?? false;
      if (stack.length === 0) return 'unbalanced parentheses';
      const after = source[i + 1] ?? '';
      const quantified = after === '*' || after === '+' || after === '?' || (after === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i + 1)));
      // "(a+)?" is harmless (at most once); "(a+)+" and "(a+){2,}" nest repetition.
      const repeats = quantified && after !== '?' && !/^\{(\d+)\}/.test(source.slice(i + 1)) && !/^\{0,1\}/.test(source.slice(i + 1));
      if (inner && repeats) return 'nested quantifiers such as (a+)+ can take exponential time';
      if (inner || quantified) stack[stack.length - 1] = true;
      continue;
    }
    if (quantifier) {
      // A lazy or possessive marker after a quantifier is not a second quantifier.
      if (ch === '?' && /[*+?}]/.test(source[i - 1] ?? '')) continue;
      stack[stack.length - 1] = true;
    }
  }
  if (stack.length !== 1) return 'unbalanced parentheses';
  return undefined;
}

function probes(source: string): string[] {
  const chars = new Set<string>(['a', '0', ' ', 'x', '-', '.', '\n']);
  for (const ch of source.replace(/\\[a-z]/gi, '')) if (ch >= ' ' && ch <= '~' && chars.size < 40) chars.add(ch);
  const out: string[] = [];
  for (const ch of chars) {
    const run = ch.repeat(PROBE_LENGTH);
    out.push(run, run + '\u0000!', `${ch} `.repeat(PROBE_LENGTH / 2));
  }
  return out;
}

export class UnsafePatternError extends Error {}

/** Compiles `source` with `flags` (g added) or throws UnsafePatternError saying why. */
export function compileSafePattern(source: string, flags = 'i'): RegExp {
  if (source.length === 0) throw new UnsafePatternError('empty pattern');
  if (source.length > 500) throw new UnsafePatternError('pattern longer than 500 characters');
  if (/[^dgimsuy]/.test(flags)) throw new UnsafePatternError(`unknown flags ${flags}`);
  let re: RegExp;
  try {
    re = new RegExp(source, [...new Set((flags + 'g').replace(/y/g, ''))].join(''));
  } catch (err) {
    throw new UnsafePatternError(`does not compile: ${(err as Error).message}`);
  }
  const problem = staticProblem(source);
  if (problem) throw new UnsafePatternError(problem);
  if (re.test('')) throw new UnsafePatternError('matches the empty string');
  for (const probe of probes(source)) {
    // A backtracking pattern is slow every time; a busy machine only sometimes: over budget, the
    // best of three runs decides, so a loaded host does not refuse a linear pattern at start.
    let ms = Infinity;
    for (let run = 0; run < 3 && ms > PROBE_BUDGET_MS; run++) {
      re.lastIndex = 0;
      const t0 = performance.now();
      re.test(probe);
      ms = Math.min(ms, performance.now() - t0);
    }
    if (ms > PROBE_BUDGET_MS) throw new UnsafePatternError(`too slow on a ${probe.length}-character probe (${ms.toFixed(0)} ms): it backtracks; simplify it`);
  }
  re.lastIndex = 0;
  return re;
}
