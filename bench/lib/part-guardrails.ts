/**
 * The guardrails part of `make bench`: the default input policy (PROMPT_SCREENING=block) on the
 * evaluation set (data/eval/guardrails/; the frozen test split is the headline, dev is shown for
 * comparison only, being what the model was fitted on), and the cost of the checks: a
 * non-streamed input check on 2 KB prompts, an output check on 2 KB answers, and the streaming
 * moderator per chunk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkCompletion, checkRequest } from '../../src/guardrails/checks.js';
import { DenyList } from '../../src/guardrails/deny-list.js';
import { envPolicy } from '../../src/guardrails/policy.js';
import { SCREENING_MODEL } from '../../src/guardrails/screening.js';
import { StreamModerator } from '../../src/guardrails/stream-moderator.js';
import type { ChatCompletion, ChatRequest } from '../../src/providers/types.js';

interface EvalRow {
  label: 'attack' | 'benign';
  family: string;
  text: string;
  source: string;
}

export interface SplitResult {
  split: string;
  attacks: number;
  blocked: number;
  benign: number;
  falsePositives: number;
  blockRate: number;
  falsePositiveRate: number;
  byFamily: Array<{ label: string; family: string; n: number; blocked: number }>;
  /** Misclassified test prompts (text cut to 160 characters), for reading. */
  errors: Array<{ label: string; family: string; score: number; text: string }>;
}

export interface GuardrailsReport {
  threshold: number;
  /** os.loadavg() when the timings started: how shared the machine was. */
  loadAverage: number[];
  splits: SplitResult[];
  timing: {
    inputCheck2kb: Timing;
    outputCheck2kb: Timing;
    streamChunk: Timing & { charsPerChunk: number; holdBackChars: number };
  };
}

function readSplit(root: string, split: string): EvalRow[] {
  return fs
    .readFileSync(path.join(root, 'data/eval/guardrails', `${split}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EvalRow);
}

/**
 * Wall-clock percentiles per call, and the process's CPU time per call over the whole loop: on a
 * shared machine the wall clock includes time other processes had the core, the CPU time does not.
 */
export interface Timing {
  n: number;
  p50Ms: number;
  p95Ms: number;
  /** Median over inputs of each input's fastest run (scheduler noise filtered out). */
  p50BestMs: number;
  cpuMsPerCall: number;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const req = (content: string): ChatRequest => ({ model: 'gpt-4o', messages: [{ role: 'user', content }] });

async function evaluate(rows: EvalRow[], split: string): Promise<SplitResult> {
  const policy = envPolicy('block', 'off');
  const fam = new Map<string, { label: string; family: string; n: number; blocked: number }>();
  const errors: SplitResult['errors'] = [];
  let blocked = 0;
  let fp = 0;
  for (const r of rows) {
    const out = await checkRequest(policy, req(r.text));
    const isBlocked = out.blocked !== undefined;
    const key = `${r.label}/${r.family}`;
    const f = fam.get(key) ?? { label: r.label, family: r.family, n: 0, blocked: 0 };
    f.n++;
    if (isBlocked) f.blocked++;
    fam.set(key, f);
    if (r.label === 'attack' && isBlocked) blocked++;
    if (r.label === 'benign' && isBlocked) fp++;
    if (isBlocked !== (r.label === 'attack')) errors.push({ label: r.label, family: r.family, score: out.blocked?.value ?? 0, text: r.text.slice(0, 160) });
  }
  const attacks = rows.filter((r) => r.label === 'attack').length;
  const benign = rows.length - attacks;
  return {
    split,
    attacks,
    blocked,
    benign,
    falsePositives: fp,
    blockRate: blocked / attacks,
    falsePositiveRate: fp / benign,
    byFamily: [...fam.values()].sort((a, b) => a.label.localeCompare(b.label) || a.family.localeCompare(b.family)),
    errors,
  };
}

/** 2 KB texts made of evaluation prompts (both labels, both splits), deterministic. */
function twoKb(rows: EvalRow[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let s = '';
    for (let k = i; s.length < 2048; k += 7) s += rows[(k * 13) % rows.length]!.text + '\n';
    out.push(s.slice(0, 2048));
  }
  return out;
}

async function timeEach(items: string[], fn: (s: string) => Promise<unknown> | unknown, rounds: number): Promise<Timing> {
  // Warm-up until the functions are optimized (steady state is what a running gateway sees).
  for (let w = 0; w < 2000; w++) await fn(items[w % items.length]!);
  const ms: number[] = [];
  const best = items.map(() => Infinity);
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < items.length; i++) {
      const t0 = performance.now();
      await fn(items[i]!);
      const d = performance.now() - t0;
      ms.push(d);
      best[i] = Math.min(best[i]!, d);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return stat(ms, (cpu.user + cpu.system) / 1000, best);
}

const stat = (xs: number[], cpuMs: number, best: number[]): Timing => ({
  n: xs.length,
  p50Ms: Number(percentile(xs, 0.5).toFixed(4)),
  p95Ms: Number(percentile(xs, 0.95).toFixed(4)),
  p50BestMs: Number(percentile(best, 0.5).toFixed(4)),
  cpuMsPerCall: Number((cpuMs / xs.length).toFixed(4)),
});

export async function runGuardrails(opts: { root: string; quick: boolean }): Promise<GuardrailsReport> {
  const dev = readSplit(opts.root, 'dev');
  const test = readSplit(opts.root, 'test');
  const splits = [await evaluate(test, 'test'), await evaluate(dev, 'dev')];

  const loadAverage = os.loadavg().map((x) => Number(x.toFixed(2)));
  const prompts = twoKb([...dev, ...test], 200);
  const rounds = opts.quick ? 2 : 5;
  // The default input policy with a deny list, as PROMPT_SCREENING=block with MODERATION_DENY_FILE.
  const deny = new DenyList(['project falcon', 'internal use only', 'confidential draft'], [/ticket-\d{6}/gi]);
  const input = envPolicy('block', 'block', deny);
  const inputMs = await timeEach(prompts, (p) => checkRequest(input, req(p)), rounds);
  const completion = (text: string): ChatCompletion => ({ id: 'c', object: 'chat.completion', created: 0, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] });
  const outputMs = await timeEach(prompts, (p) => checkCompletion(input, completion(p)), rounds);

  // Streams: a 2 KB answer in 4-character chunks (about one token each) through the moderator.
  const chunkMs: number[] = [];
  const charsPerChunk = 4;
  for (let w = 0; w < 20; w++) {
    const m = new StreamModerator(input.output);
    for (let i = 0; i < prompts[w]!.length; i += charsPerChunk) m.push(0, prompts[w]!.slice(i, i + charsPerChunk));
  }
  // Best per answer: its median chunk over the rounds' fastest run of that answer.
  const bestPerAnswer = prompts.map(() => Infinity);
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    prompts.forEach((p, k) => {
      const m = new StreamModerator(input.output);
      const own: number[] = [];
      for (let i = 0; i < p.length; i += charsPerChunk) {
        const t0 = performance.now();
        const step = m.push(0, p.slice(i, i + charsPerChunk));
        own.push(performance.now() - t0);
        if (step.blocked) break;
      }
      m.finish(0);
      chunkMs.push(...own);
      bestPerAnswer[k] = Math.min(bestPerAnswer[k]!, percentile(own, 0.5));
    });
  }
  const cpu = process.cpuUsage(cpu0);
  // The CPU time of the stream loop includes the finish() calls; per chunk it is an upper bound.
  const streamStat = stat(chunkMs, (cpu.user + cpu.system) / 1000, bestPerAnswer);
  return {
    threshold: SCREENING_MODEL.threshold,
    loadAverage,
    splits,
    timing: {
      inputCheck2kb: inputMs,
      outputCheck2kb: outputMs,
      streamChunk: { ...streamStat, charsPerChunk, holdBackChars: new StreamModerator(input.output)['holdBack'] },
    },
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function renderGuardrails(g: GuardrailsReport): string {
  const L: string[] = [];
  const test = g.splits.find((s) => s.split === 'test')!;
  L.push(
    `The default input policy (\`PROMPT_SCREENING=block\`: the screening model at its threshold ${g.threshold}) on the guardrails evaluation set ` +
      '(`data/eval/guardrails/`; the model was fitted and its threshold chosen on **dev** only; **test** is frozen and holds whole templates dev never shows). ' +
      `Target: >= 90% of attacks blocked at <= 2% false positives on test.`,
    '',
  );
  L.push('| split | attacks blocked | benign blocked (false positives) |', '| --- | --- | --- |');
  for (const s of g.splits) L.push(`| ${s.split} | ${s.blocked} / ${s.attacks} = **${pct(s.blockRate)}** | ${s.falsePositives} / ${s.benign} = **${pct(s.falsePositiveRate)}** |`);
  L.push('', 'Test split per family (blocked / prompts):', '');
  L.push('| label | family | blocked |', '| --- | --- | --- |');
  for (const f of test.byFamily) L.push(`| ${f.label} | ${f.family} | ${f.blocked} / ${f.n} |`);
  L.push('', 'Misclassified test prompts:', '');
  for (const e of test.errors) L.push(`- ${e.label} (${e.family}): ${JSON.stringify(e.text)}`);
  const t = g.timing;
  L.push('', `Cost of the checks, in the bench process: wall-clock percentiles per call, and CPU time per call (the process's CPU time over the loop / calls, all its threads and garbage collection included), and the median over inputs of each input's fastest of the runs (what the code costs when the core is not taken by another process). Targets: <= 0.5 ms p50 for a non-streamed check of a 2 KB prompt, <= 1 ms p50 per streamed chunk. The 2 KB texts are made of evaluation prompts (attack-dense, base64 and hex included: a hard case). Load average when the timings started: ${g.loadAverage.join(' / ')} (1 / 5 / 15 min) on ${os.cpus().length} cores.`, '');
  L.push('| what | n | p50 ms | p95 ms | p50 of best run ms | CPU ms / call |', '| --- | --- | --- | --- | --- | --- |');
  const row = (what: string, x: Timing) => `| ${what} | ${x.n} | ${x.p50Ms} | ${x.p95Ms} | ${x.p50BestMs} | ${x.cpuMsPerCall} |`;
  L.push(row('non-streamed input check, 2 KB prompt (injection + deny list)', t.inputCheck2kb));
  L.push(row('non-streamed output check, 2 KB answer (PII + deny list)', t.outputCheck2kb));
  L.push(row(`streaming moderation per chunk (${t.streamChunk.charsPerChunk} characters, hold-back ${t.streamChunk.holdBackChars}; PII + deny list)`, t.streamChunk));
  L.push('');
  return L.join('\n');
}
