/**
 * How long the request path's per-request text work takes on hostile inputs up to the body limit
 * (1 MB): token counting (bounded, and tiktoken directly on the same text where that finishes in
 * reasonable time, to show the quadratic it replaces). Medians of BOUNDS_REPS runs, measured side
 * by side in one process. Writes bench/results/<date>-request-bounds.md (a new file per run).
 *
 *   npx tsx bench/request-bounds.ts            (or: make bench-bounds)
 */
import fs from 'node:fs';
import path from 'node:path';
import { get_encoding } from 'tiktoken';
import { countChatPromptTokens, countTextTokens } from '../src/accounting/tokens.js';

const REPS = Number(process.env.BOUNDS_REPS ?? 5);
const MB = 1_000_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(fn: () => unknown, reps = REPS): number {
  fn(); // warm-up (builds the encoder)
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

function repeatTo(unit: string, chars: number): string {
  return unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
}

/** Hostile texts of about `chars` characters (1 MB of UTF-8 at most for the non-ASCII ones). */
function inputs(chars: number): Record<string, string> {
  const words = 'the quick brown fox jumps over the lazy dog while 42 engineers refactor the cache layer; ';
  return {
    prose: repeatTo(words, chars),
    'one letter run': repeatTo('h', chars),
    'CJK run': repeatTo('漢字', Math.floor(chars / 3)),
    punctuation: repeatTo('.,;!', chars),
    spaces: repeatTo(' ', chars),
    newlines: repeatTo('\n', chars),
    emoji: repeatTo('😀', Math.floor(chars / 4)),
    'base64-ish': repeatTo('QUJDRGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo', chars),
  };
}

const lines: string[] = [];
const out = (s: string) => {
  lines.push(s);
  console.log(s);
};

out(`# Request-path bounds on hostile inputs (${new Date().toISOString()})`);
out('');
out(`Node ${process.version}, ${REPS} runs per cell, medians in ms. Load average at start: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`);
out('');
out('## Token counting: tiktoken directly vs bounded counting, same text, same run');
out('');
out('| input | chars | direct encode (ms) | bounded count (ms) | ratio | direct tokens | bounded tokens |');
out('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const enc = get_encoding('o200k_base');
// Direct tiktoken is quadratic on runs: only sizes where it finishes in seconds are timed.
for (const chars of [4_000, 16_000]) {
  for (const [name, text] of Object.entries(inputs(chars))) {
    let direct = 0;
    let bounded = 0;
    const d = time(() => (direct = enc.encode_ordinary(text).length), 1);
    const b = time(() => (bounded = countTextTokens('gpt-4o', text)));
    out(`| ${name} | ${text.length} | ${d.toFixed(2)} | ${b.toFixed(2)} | ${(d / b).toFixed(1)}x | ${direct} | ${bounded} |`);
  }
}
out('');
out('## Token counting of 1 MB prompts (direct tiktoken: seconds to minutes, or a WASM panic)');
out('');
out('| input | chars | countTextTokens (ms) | countChatPromptTokens (ms) | tokens |');
out('| --- | ---: | ---: | ---: | ---: |');
for (const [name, text] of Object.entries(inputs(MB))) {
  let n = 0;
  const t = time(() => (n = countTextTokens('gpt-4o', text)));
  const c = time(() => countChatPromptTokens('gpt-4o', [{ role: 'user', content: text }]));
  out(`| ${name} | ${text.length} | ${t.toFixed(2)} | ${c.toFixed(2)} | ${n} |`);
}
const many = Array.from({ length: 30_000 }, (_, i) => ({ role: 'user' as const, content: `message ${i} says hello` }));
out(`| 30,000 short messages | ${many.reduce((n, m) => n + m.content.length, 0)} | - | ${time(() => countChatPromptTokens('gpt-4o', many)).toFixed(2)} | ${countChatPromptTokens('gpt-4o', many)} |`);
enc.free();

const dir = path.resolve('bench/results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-request-bounds.md`);
fs.writeFileSync(file, lines.join('\n') + '\n');
console.error(`wrote ${path.relative(process.cwd(), file)}`);
