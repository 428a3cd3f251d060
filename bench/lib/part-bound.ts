/**
 * Bench part `bound`: static thresholds against error-bound mode (CACHE_MAX_ERROR_RATE 0.01, 0.02,
 * 0.05) on the same traffic streams, in the same run, through the real gateway (real embedder,
 * verifier, index, store). The simulated upstream answers every prompt of a meaning group with that
 * group's one answer, so a served answer is right exactly when it was stored for the same group,
 * and verification calls compare real answers.
 *
 * Traffic is built from the project's own data (data/workloads, data/eval): meaning groups from
 * labelled duplicates (near-misses are groups of their own), asked with Zipf popularity, each time
 * in one of the group's wordings inside one of a few everyday frames (greeting, context, thanks),
 * so later requests are mostly paraphrases and near-misses of earlier ones, as in real traffic.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { countCompletionTokens } from '../../src/accounting/tokens.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { loadConfig } from '../../src/config.js';
import { startGateway } from '../../src/server.js';
import { LoopbackServer } from '../../test/helpers/loopback-server.js';
import { normalizeText } from './baselines.js';
import { seededRandom } from './datasets.js';
import { silentLogger } from './gateway-proc.js';
import { log } from './progress.js';
import { gatewayEnv, tempDataDir } from './replay.js';
import { renderPlot, type PlotSeries } from './svg-plot.js';

export const BOUNDS = [0.01, 0.02, 0.05];
export const STATIC_THRESHOLDS = [0.5, 0.61, 0.7, 0.8, 0.9, 1];
export const BOUND_PLOT_FILE = 'error-vs-hit-rate.svg';

export interface TrafficStream {
  name: string;
  description: string;
  /** [text, group] per request, in order. */
  requests: Array<[string, number]>;
  groups: number;
}

export interface RunResult {
  /** "threshold 0.61" or "bound 0.02". */
  setting: string;
  kind: 'threshold' | 'bound';
  value: number;
  requests: number;
  hits: number;
  semanticHits: number;
  wrongHits: number;
  /** hits / requests. */
  hitRate: number;
  /** wrong hits / hits (the share of cached answers that were wrong; 0 with no hits). */
  wrongRate: number;
  /** wrong hits / requests. */
  wrongPerRequest: number;
  verifications: number;
  verificationShare: number;
  verificationCostUsd: number;
  upstreamCalls: number;
  costUsd: number;
}

export interface StreamResult {
  name: string;
  description: string;
  requests: number;
  groups: number;
  runs: RunResult[];
  /** Per bound: the best static hit rate at an observed wrong rate <= the bound run's. */
  comparison: Array<{ bound: number; wrongRate: number; hitRate: number; staticHitRate: number; staticSetting: string; withinBound: boolean; beatsStatic: boolean }>;
}

export interface BoundReport {
  bounds: number[];
  thresholds: number[];
  verifyMaxRate: number;
  pricingModel: string;
  streams: StreamResult[];
}

/** Everyday frames a question is asked in (written for this bench; the test suite has its own). */
const FRAMES: Array<(q: string) => string> = [
  (q) => q,
  (q) => q,
  (q) => `Hey, ${q.charAt(0).toLowerCase()}${q.slice(1)}`,
  (q) => `${q} Thank you!`,
  (q) => `Good morning. ${q}`,
  (q) => `${q} A short answer is fine.`,
  (q) => `Question for you: ${q}`,
  (q) => `${q} Cheers.`,
  (q) => q.toLowerCase(),
  (q) => `Sorry to bother you. ${q}`,
];

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    if (!this.parent.has(root)) this.parent.set(root, root);
    // Path compression: everything on the way points at the root.
    for (let y = x; y !== root; ) {
      const next = this.parent.get(y)!;
      this.parent.set(y, root);
      y = next;
    }
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

/** Meaning groups (lists of wordings) from labelled same/different pairs. */
function groupsFromPairs(pairs: Array<{ a: string; b: string; same: boolean }>): string[][] {
  const uf = new UnionFind();
  const key = (t: string) => normalizeText(t);
  const text = new Map<string, string>();
  for (const p of pairs) {
    text.set(key(p.a), p.a);
    text.set(key(p.b), p.b);
    uf.find(key(p.a));
    uf.find(key(p.b));
    if (p.same) uf.union(key(p.a), key(p.b));
  }
  const groups = new Map<string, string[]>();
  for (const [k, t] of text) {
    const root = uf.find(k);
    let g = groups.get(root);
    if (!g) groups.set(root, (g = []));
    g.push(t);
  }
  return [...groups.values()];
}

/** A stream of `n` requests over the groups: Zipf(1) popularity in a seeded order, a wording, a frame. */
export function trafficStream(name: string, description: string, groups: string[][], n: number, seed: number): TrafficStream {
  const random = seededRandom(seed);
  const order = groups.map((_, i) => i).sort(() => random() - 0.5);
  const weights = order.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const requests: Array<[string, number]> = [];
  for (let i = 0; i < n; i++) {
    let r = random() * total;
    let rank = 0;
    while (rank < weights.length - 1 && (r -= weights[rank]!) > 0) rank++;
    const g = order[rank]!;
    const wordings = groups[g]!;
    const wording = wordings[Math.floor(random() * wordings.length)]!;
    const frame = FRAMES[Math.floor(random() * FRAMES.length)]!;
    requests.push([frame(wording), g]);
  }
  return { name, description, requests, groups: groups.length };
}

export function loadTrafficStreams(root: string, n: number, seed: number): TrafficStream[] {
  const out: TrafficStream[] = [];
  const chat = path.join(root, 'data', 'workloads', 'chat-assistant.jsonl');
  if (fs.existsSync(chat)) {
    const lines = fs
      .readFileSync(chat, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { id: string; text: string; duplicateOf: string | null });
    const byId = new Map(lines.map((l) => [l.id, l]));
    const pairs = lines.filter((l) => l.duplicateOf && byId.has(l.duplicateOf)).map((l) => ({ a: byId.get(l.duplicateOf!)!.text, b: l.text, same: true }));
    const singles = lines.filter((l) => !l.duplicateOf).map((l) => ({ a: l.text, b: l.text, same: true }));
    const groups = groupsFromPairs([...pairs, ...singles]);
    out.push(trafficStream('chat-assistant', `data/workloads/chat-assistant.jsonl as traffic: ${groups.length} meaning groups (near-misses are groups of their own)`, groups, n, seed));
  }
  for (const split of ['dev', 'test']) {
    const file = path.join(root, 'data', 'eval', `adversarial-${split}.jsonl`);
    if (!fs.existsSync(file)) continue;
    const rows = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { a: string; b: string; label: boolean });
    const groups = groupsFromPairs(rows.map((r) => ({ a: r.a, b: r.b, same: r.label })));
    out.push(
      trafficStream(
        `adversarial-${split}`,
        `data/eval/adversarial-${split}.jsonl as traffic: ${groups.length} meaning groups from ${rows.length} labelled pairs (half of them near-misses)${split === 'test' ? '; never used to choose any constant' : ''}`,
        groups,
        n,
        seed + (split === 'dev' ? 1 : 2),
      ),
    );
  }
  return out;
}

/** Answers every prompt of a group with the group's one answer (its number in it, so two groups' answers always differ). */
class GroupUpstream extends LoopbackServer {
  calls = 0;
  private readonly answers = new Map<number, { text: string; tokens: number }>();

  constructor(
    private readonly groupOf: Map<string, number>,
    private readonly model: string,
  ) {
    super();
  }

  private answer(group: number) {
    let a = this.answers.get(group);
    if (!a) {
      const random = seededRandom(1000 + group);
      const words = 'first then check the settings open the file run the command restart the service use the option set the value try again with'.split(' ');
      const body = Array.from({ length: 40 }, () => words[Math.floor(random() * words.length)]).join(' ');
      const text = `Answer for meaning group ${group}: ${body}.`;
      a = { text, tokens: countCompletionTokens(this.model, { content: text }) };
      this.answers.set(group, a);
    }
    return a;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: Array<{ content: string }> };
    this.calls++;
    const prompt = body.messages[body.messages.length - 1]!.content;
    const group = this.groupOf.get(prompt) ?? -1;
    const a = this.answer(group);
    const promptTokens = Math.ceil(prompt.length / 4) + 8;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `chatcmpl-group-${group}-${this.calls}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: a.text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: a.tokens, total_tokens: promptTokens + a.tokens },
      }),
    );
  }
}

async function runOne(
  stream: TrafficStream,
  setting: { kind: 'threshold' | 'bound'; value: number },
  opts: { embedder: Embedder; modelsDir: string; model: string; verifyMaxRate: number },
): Promise<RunResult> {
  const groupOf = new Map(stream.requests.map(([t, g]) => [t, g]));
  const upstream = await new GroupUpstream(groupOf, opts.model).start();
  const dataDir = tempDataDir();
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    MODELS_DIR: opts.modelsDir,
    CACHE_STORE_URL: 'memory://',
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_API_KEY: 'sk-bench',
    CACHE_VERIFY_MAX_RATE: String(opts.verifyMaxRate),
  };
  if (setting.kind === 'bound') env.CACHE_MAX_ERROR_RATE = String(setting.value);
  else env.CACHE_SIMILARITY_THRESHOLD = String(setting.value);
  const gateway = await startGateway(loadConfig(gatewayEnv(env)), { embedder: opts.embedder, logger: silentLogger() });
  const r: RunResult = {
    setting: `${setting.kind} ${setting.value}`,
    kind: setting.kind,
    value: setting.value,
    requests: 0,
    hits: 0,
    semanticHits: 0,
    wrongHits: 0,
    hitRate: 0,
    wrongRate: 0,
    wrongPerRequest: 0,
    verifications: 0,
    verificationShare: 0,
    verificationCostUsd: 0,
    upstreamCalls: 0,
    costUsd: 0,
  };
  try {
    for (const [text, group] of stream.requests) {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
        body: JSON.stringify({ model: opts.model, messages: [{ role: 'user', content: text }] }),
      });
      const body = (await res.json()) as { id: string };
      if (res.status !== 200) throw new Error(`bound bench: gateway answered ${res.status}`);
      r.requests++;
      const status = res.headers.get('x-cache-status');
      const cost = Number(res.headers.get('x-gateway-cost-usd') ?? 0);
      if (status === 'hit' || status === 'semantic-hit') {
        r.hits++;
        if (status === 'semantic-hit') r.semanticHits++;
        const servedGroup = Number(/^chatcmpl-group-(-?\d+)-/.exec(body.id)?.[1]);
        if (servedGroup !== group) r.wrongHits++;
      } else {
        r.costUsd += cost;
        if (res.headers.get('x-cache-verification') === 'true') {
          r.verifications++;
          r.verificationCostUsd += cost;
        }
      }
    }
  } finally {
    r.upstreamCalls = upstream.calls;
    await gateway.close();
    await upstream.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  r.hitRate = r.hits / r.requests;
  r.wrongRate = r.hits ? r.wrongHits / r.hits : 0;
  r.wrongPerRequest = r.wrongHits / r.requests;
  r.verificationShare = r.verifications / r.requests;
  return r;
}

export async function runBound(opts: {
  root: string;
  embedder: Embedder;
  modelsDir: string;
  model: string;
  requests: number;
  seed: number;
  verifyMaxRate: number;
}): Promise<BoundReport> {
  const streams = loadTrafficStreams(opts.root, opts.requests, opts.seed);
  const report: BoundReport = { bounds: BOUNDS, thresholds: STATIC_THRESHOLDS, verifyMaxRate: opts.verifyMaxRate, pricingModel: opts.model, streams: [] };
  for (const s of streams) {
    const runs: RunResult[] = [];
    for (const setting of [...STATIC_THRESHOLDS.map((value) => ({ kind: 'threshold' as const, value })), ...BOUNDS.map((value) => ({ kind: 'bound' as const, value }))]) {
      const t0 = performance.now();
      const r = await runOne(s, setting, opts);
      runs.push(r);
      log(`bound: ${s.name} ${r.setting}: hit rate ${pct(r.hitRate)}, wrong ${pct(r.wrongRate)} of hits, ${r.verifications} verification calls (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    const statics = runs.filter((r) => r.kind === 'threshold');
    const comparison = runs
      .filter((r) => r.kind === 'bound')
      .map((b) => {
        const eligible = statics.filter((t) => t.wrongRate <= b.wrongRate + 1e-12);
        const best = eligible.sort((x, y) => y.hitRate - x.hitRate)[0];
        return {
          bound: b.value,
          wrongRate: b.wrongRate,
          hitRate: b.hitRate,
          staticHitRate: best?.hitRate ?? 0,
          staticSetting: best?.setting ?? 'none',
          withinBound: b.wrongRate <= b.value,
          beatsStatic: b.hitRate > (best?.hitRate ?? 0),
        };
      });
    report.streams.push({ name: s.name, description: s.description, requests: s.requests.length, groups: s.groups, runs, comparison });
  }
  return report;
}

function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

export function renderBound(r: BoundReport): string {
  const out: string[] = [];
  out.push(
    `Static thresholds (CACHE_SIMILARITY_THRESHOLD on the verifier score; 1 = exact repeats only) against error-bound mode (CACHE_MAX_ERROR_RATE; CACHE_VERIFY_MAX_RATE=${r.verifyMaxRate}) on the same streams, one gateway per setting. ` +
      'Wrong = a cached answer stored for another meaning group; the wrong-answer rate is wrong hits / hits. Misses and verification calls get the fresh answer. ' +
      `Cost at ${r.pricingModel} prices. Plot: [${BOUND_PLOT_FILE}](${BOUND_PLOT_FILE}).`,
    '',
  );
  for (const s of r.streams) {
    out.push(`**${s.name}** (${s.requests} requests): ${s.description}`, '');
    out.push('| setting | hit rate | semantic hits | wrong-answer rate (of hits) | wrong per 1k requests | verification calls (share) | verification cost | upstream calls |');
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const x of s.runs) {
      out.push(
        `| ${x.setting} | ${pct(x.hitRate)} | ${x.semanticHits} | ${pct(x.wrongRate, 2)} (${x.wrongHits}) | ${(x.wrongPerRequest * 1000).toFixed(1)} | ${x.verifications} (${pct(x.verificationShare)}) | $${x.verificationCostUsd.toFixed(4)} | ${x.upstreamCalls} |`,
      );
    }
    out.push('');
    for (const c of s.comparison) {
      out.push(
        `- bound ${c.bound}: observed ${pct(c.wrongRate, 2)} (${c.withinBound ? 'within' : 'OVER'} the bound), hit rate ${pct(c.hitRate)} vs ${pct(c.staticHitRate)} for the best static setting at an observed rate no higher (${c.staticSetting}): ${c.beatsStatic ? 'higher' : 'not higher'}`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

export function renderBoundPlot(r: BoundReport): string {
  const series: PlotSeries[] = [];
  r.streams.forEach((s, i) => {
    const statics = s.runs.filter((x) => x.kind === 'threshold').sort((a, b) => a.hitRate - b.hitRate);
    series.push({ name: `${s.name}: static`, colour: i, dashed: true, points: statics.map((x) => ({ x: x.hitRate, y: 1 - x.wrongRate, label: String(x.value) })) });
    const bounds = s.runs.filter((x) => x.kind === 'bound').sort((a, b) => a.hitRate - b.hitRate);
    series.push({ name: `${s.name}: error bound`, colour: i, width: 2.6, points: bounds.map((x) => ({ x: x.hitRate, y: 1 - x.wrongRate, label: `<=${x.value}`, mark: true })) });
  });
  return renderPlot({
    title: 'Wrong-answer rate against hit rate: static thresholds vs error-bound mode',
    subtitle: 'y = 1 - wrong hits / hits; dashed: static thresholds (labels), rings: CACHE_MAX_ERROR_RATE (labels)',
    xLabel: 'hit rate (hits / requests)',
    yLabel: '1 - wrong-answer rate',
    series,
    yMin: 0.8,
  });
}
