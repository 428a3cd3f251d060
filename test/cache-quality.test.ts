import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { reasonKind, SCORE_BINS, scoreBin, type CacheQualitySnapshot, type NamespaceQuality } from '../src/observability/cache-quality.js';
import { startGateway, type Gateway } from '../src/server.js';
import { chat, defaultEmbedder, tempDir, testConfig } from './helpers/gateway.js';
import { GROUPS, stream } from './helpers/meaning-groups.js';
import { MeaningUpstream } from './helpers/meaning-upstream.js';

const ADMIN = 'quality-admin-key';
const auth = { authorization: `Bearer ${ADMIN}` };
const MODEL = 'test-model';
// $2 per 1M prompt tokens, $10 per 1M completion tokens: every call costs a whole number of micro-dollars.
const PRICE = { input: 2, output: 10 };
const ask = (content: string) => ({ model: MODEL, messages: [{ role: 'user', content }] });

function writePrices(): string {
  const file = path.join(tempDir('prices-'), 'prices.json');
  fs.writeFileSync(file, JSON.stringify({ [MODEL]: PRICE }));
  return file;
}

function parseProm(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

/** A gateway whose request log lines land in `lines`. */
async function gatewayWithLog(env: Record<string, string>): Promise<{ gw: Gateway; lines: Array<Record<string, any>> }> {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  const gw = await startGateway(testConfig({ CACHE_STORE_URL: 'memory://', ADMIN_API_KEY: ADMIN, PRICES_FILE: writePrices(), ...env }), { embedder: await defaultEmbedder(), logger });
  return { gw, lines };
}

async function getStats(gw: Gateway): Promise<{ cache: CacheQualitySnapshot }> {
  const r = await fetch(`${gw.url}/v1/gateway/stats`, { headers: auth });
  expect(r.status).to.equal(200);
  return (await r.json()) as { cache: CacheQualitySnapshot };
}

async function getMetrics(gw: Gateway): Promise<Map<string, number>> {
  const r = await fetch(`${gw.url}/metrics`, { headers: auth });
  expect(r.status).to.equal(200);
  return parseProm(await r.text());
}

interface Seen {
  requests: number;
  exactHits: number;
  semanticHits: number;
  misses: number;
  verifications: number;
  /** Micro-dollars of the verification calls, from the usage the upstream reported. */
  verificationMicroUsd: number;
  feedbackCorrect: number;
  feedbackWrong: number;
}

describe('cache quality in /metrics and /v1/gateway/stats (real gateway, upstream answering by meaning)', function () {
  this.timeout(300_000);
  let upstream: MeaningUpstream;

  before(async () => {
    upstream = await new MeaningUpstream(GROUPS).start();
  });
  after(async () => upstream?.stop());

  it('error-bound mode: verification calls, their cost and the observed error per namespace match what the upstream and the clients saw', async () => {
    const { gw, lines } = await gatewayWithLog({ UPSTREAM_BASE_URL: upstream.url, CACHE_MAX_ERROR_RATE: '0.05', CACHE_VERIFY_MAX_RATE: '0.5' });
    try {
      const callsBefore = upstream.calls;
      const seen: Record<string, Seen> = {};
      // team-a under the configured bound; team-b under a loose bound of its own (hits come
      // early), and its client labels every semantic hit.
      const plan: Array<[string, string[], Record<string, string>]> = [
        ['team-a', stream(240, 13), {}],
        ['team-b', stream(160, 17), { 'x-cache-max-error': '0.5' }],
      ];
      for (const [ns, prompts, extra] of plan) {
        const s: Seen = (seen[ns] = { requests: 0, exactHits: 0, semanticHits: 0, misses: 0, verifications: 0, verificationMicroUsd: 0, feedbackCorrect: 0, feedbackWrong: 0 });
        for (const p of prompts) {
          const r = await chat(gw, ask(p), { 'x-cache-namespace': ns, ...extra });
          expect(r.status).to.equal(200);
          s.requests++;
          const status = r.headers.get('x-cache-status');
          if (status === 'hit') s.exactHits++;
          else if (status === 'semantic-hit') s.semanticHits++;
          else s.misses++;
          if (r.headers.get('x-cache-verification') === 'true') {
            s.verifications++;
            const u = r.json.usage as { prompt_tokens: number; completion_tokens: number };
            s.verificationMicroUsd += u.prompt_tokens * PRICE.input + u.completion_tokens * PRICE.output;
          }
          if (ns === 'team-b' && status === 'semantic-hit') {
            // A strict client: it also turns down every third right answer (a label is the client's word).
            const correct = r.json.choices[0].message.content === upstream.answerFor(p) && s.semanticHits % 3 !== 0;
            const fb = await fetch(`${gw.url}/v1/cache/feedback`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...auth },
              body: JSON.stringify({ request_id: r.headers.get('x-request-id'), correct }),
            });
            expect(fb.status).to.equal(200);
            if (correct) s.feedbackCorrect++;
            else s.feedbackWrong++;
          }
        }
      }
      const a = seen['team-a']!;
      const b = seen['team-b']!;
      // The stream is long enough to exercise every count.
      expect(a.verifications).to.be.greaterThan(10);
      expect(b.semanticHits).to.be.greaterThan(5);
      expect(b.feedbackWrong).to.be.greaterThan(0);
      // Every miss and every verification call went upstream, nothing else did.
      expect(upstream.calls - callsBefore).to.equal(a.misses + b.misses);

      // What the request log says each verification call found (best candidate first).
      const found: Record<string, { equivalent: number; different: number }> = { 'team-a': { equivalent: 0, different: 0 }, 'team-b': { equivalent: 0, different: 0 } };
      for (const l of lines) {
        if (l.event !== 'request' || !Array.isArray(l.verification)) continue;
        found[l.namespace]![l.verification[0].equivalent ? 'equivalent' : 'different']++;
      }

      const stats = await getStats(gw);
      const metrics = await getMetrics(gw);
      for (const [ns, s, bound] of [['team-a', a, 0.05], ['team-b', b, 0.5]] as const) {
        const q = stats.cache.namespaces.find((n) => n.namespace === ns) as NamespaceQuality;
        expect(q, ns).to.not.equal(undefined);
        const f = found[ns]!;
        expect(f.equivalent + f.different, ns).to.equal(s.verifications);
        const observations = s.verifications + s.feedbackCorrect + s.feedbackWrong;
        const wrong = f.different + s.feedbackWrong;
        expect(q, ns).to.deep.include({
          maxErrorRate: bound,
          lookups: s.requests,
          hits: s.exactHits,
          semanticHits: s.semanticHits,
          misses: s.misses,
          hitRatio: (s.exactHits + s.semanticHits) / s.requests,
          observations,
          wrong,
          observedErrorRate: wrong / observations,
        });
        expect(q.verification).to.deep.include({ calls: s.verifications, equivalent: f.equivalent, different: f.different, failed: 0 });
        expect(q.verification.costUsd).to.be.closeTo(s.verificationMicroUsd / 1e6, 1e-12);
        expect(q.feedback).to.deep.include({ correct: s.feedbackCorrect, wrong: s.feedbackWrong });
        // CACHE_VERIFY_MAX_RATE holds per process: calls of both namespaces share the budget.
        const m = (name: string, labels: string) => metrics.get(`gateway_${name}{${labels}}`) ?? 0;
        expect(m('cache_verifications_total', `namespace="${ns}",outcome="equivalent"`)).to.equal(f.equivalent);
        expect(m('cache_verifications_total', `namespace="${ns}",outcome="different"`)).to.equal(f.different);
        expect(m('cache_verification_cost_usd_total', `namespace="${ns}"`)).to.be.closeTo(s.verificationMicroUsd / 1e6, 1e-12);
        expect(m('cache_answer_checks_total', `namespace="${ns}",source="verification",outcome="wrong"`)).to.equal(f.different);
        expect(m('cache_answer_checks_total', `namespace="${ns}",source="verification",outcome="right"`)).to.equal(f.equivalent);
        expect(m('cache_answer_checks_total', `namespace="${ns}",source="feedback",outcome="wrong"`)).to.equal(s.feedbackWrong);
        expect(m('cache_feedback_total', `namespace="${ns}",label="correct"`)).to.equal(s.feedbackCorrect);
        expect(m('cache_observed_error_rate', `namespace="${ns}"`)).to.be.closeTo(wrong / observations, 1e-12);
        expect(m('cache_max_error_rate', `namespace="${ns}"`)).to.equal(bound);
        expect(m('cache_bound_lookups_total', `namespace="${ns}",cache="semantic-hit"`)).to.equal(s.semanticHits);
        expect(m('cache_bound_lookups_total', `namespace="${ns}",cache="miss"`)).to.equal(s.misses);
      }
      expect(a.verifications + b.verifications).to.be.at.most(0.5 * (a.requests + b.requests));
      // Error-bound lookups are not threshold-mode lookups.
      expect(stats.cache.threshold.lookups).to.equal(0);
    } finally {
      await gw.close();
    }
  });

  it('threshold mode: nearest scores of hits and misses land in the right bins, and rejections are counted by reason', async () => {
    const { gw, lines } = await gatewayWithLog({ UPSTREAM_BASE_URL: upstream.url });
    try {
      const hitScores: number[] = [];
      let exact = 0;
      for (const p of stream(200, 21)) {
        const r = await chat(gw, ask(p), { 'x-cache-namespace': 'tuning' });
        expect(r.status).to.equal(200);
        const status = r.headers.get('x-cache-status');
        if (status === 'hit') exact++;
        // With the verifier the served candidate is the nearest one: its score is the header's.
        if (status === 'semantic-hit') hitScores.push(Number(r.headers.get('x-cache-similarity')));
      }
      const stats = await getStats(gw);
      const t = stats.cache.threshold;
      const threshold = t.threshold!;
      expect(threshold).to.be.within(0.3, 1);
      expect(t.bins).to.equal(SCORE_BINS);
      expect(t.lookups).to.equal(200);
      expect(t.exactHits).to.equal(exact);
      expect(t.semanticHits).to.be.greaterThan(10);
      expect(t.missScores.reduce((x, y) => x + y, 0)).to.be.greaterThan(10);
      // The first request of the namespace had nothing to compare with.
      expect(t.noCandidate).to.be.at.least(1);
      // Header scores have 4 decimals: one within 1e-4 of a bin edge may sit on either side.
      expectBins(t.hitScores, hitScores);
      // Hits scored at or above the threshold, misses below it (the verifier reads what a guard would).
      const edge = scoreBin(threshold);
      t.hitScores.forEach((n, i) => i < edge && expect(n, `hit bin ${i}`).to.equal(0));
      t.missScores.forEach((n, i) => i > edge && expect(n, `miss bin ${i}`).to.equal(0));

      // The request log has every lookup's nearest score and rejections: the stats agree with it.
      const missScores: number[] = [];
      const reasons = new Map<string, number>();
      let noCandidate = 0;
      for (const l of lines) {
        if (l.event !== 'request' || l.namespace !== 'tuning') continue;
        if (l.cacheStatus === 'miss') {
          if (l.nearestSimilarity === undefined) noCandidate++;
          else missScores.push(l.nearestSimilarity);
        }
        for (const g of l.guardRejections ?? []) reasons.set(reasonKind(g.reason), (reasons.get(reasonKind(g.reason)) ?? 0) + 1);
      }
      expect(t.noCandidate).to.equal(noCandidate);
      expectBins(t.missScores, missScores);
      expect(reasons.size).to.be.greaterThan(0);
      expect(t.rejections).to.deep.equal([...reasons].map(([reason, count]) => ({ reason, count })).sort((x, y) => y.count - x.count || x.reason.localeCompare(y.reason)));
      expect(t.rejections.map((r) => r.reason)).to.include('number-mismatch'); // 100 F vs 50 F

      const metrics = await getMetrics(gw);
      expect(metrics.get('gateway_cache_nearest_score_count{result="hit"}')).to.equal(t.semanticHits);
      expect(metrics.get('gateway_cache_nearest_score_count{result="miss"}')).to.equal(t.missScores.reduce((x, y) => x + y, 0));
      // Cumulative buckets every 0.05, from the same bins.
      let below = 0;
      for (let i = 0; i < SCORE_BINS - 1; i++) {
        below += t.hitScores[i]!;
        expect(metrics.get(`gateway_cache_nearest_score_bucket{le="${(i + 1) / SCORE_BINS}",result="hit"}`), `le ${(i + 1) / SCORE_BINS}`).to.equal(below);
      }
      expect(metrics.get('gateway_cache_nearest_score_bucket{le="+Inf",result="hit"}')).to.equal(t.semanticHits);
      for (const r of t.rejections) expect(metrics.get(`gateway_guard_rejections_total{reason="${r.reason}"}`), r.reason).to.equal(r.count);
      // No error-bound namespace in threshold mode.
      expect(stats.cache.namespaces).to.deep.equal([]);
    } finally {
      await gw.close();
    }
  });
});

/**
 * The gateway's bins against 4-decimal scores (as headers and log lines carry them): equal totals,
 * and each bin holds the scores certainly in it plus at most those within 1e-4 of its edges.
 */
function expectBins(actual: number[], scores: number[]): void {
  const lo = new Array<number>(SCORE_BINS).fill(0);
  const hi = new Array<number>(SCORE_BINS).fill(0);
  for (const v of scores) {
    const edge = Math.round(v * SCORE_BINS);
    if (Math.abs(v * SCORE_BINS - edge) < 0.002 && edge > 0 && edge < SCORE_BINS) {
      hi[edge - 1]!++;
      hi[edge]!++;
    } else {
      lo[scoreBin(v)]!++;
      hi[scoreBin(v)]!++;
    }
  }
  expect(actual.reduce((x, y) => x + y, 0)).to.equal(scores.length);
  for (let i = 0; i < SCORE_BINS; i++) expect(actual[i], `bin ${i}: ${actual} vs ${scores}`).to.be.within(lo[i]!, hi[i]!);
}
