import { expect } from 'chai';
import { LATENCY_BUCKETS_SECONDS, MAX_MODEL_LABELS, OTHER_MODEL_LABEL, createMetrics } from '../src/observability/metrics.js';

/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): every line is a HELP,
 * a TYPE or a sample; a sample belongs to a family declared by TYPE before it; names, label sets
 * and values are well formed; histograms are cumulative and end in le="+Inf" equal to _count.
 * Throws on the first violation.
 */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

// Values as Prometheus itself reads them (Go's strconv.ParseFloat): NaN and Inf in any letter case,
// which matters because prom-client prints an idle event-loop-lag gauge as "Nan".
function parseValue(s: string, line: string): number {
  const lower = s.toLowerCase();
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (lower === 'nan') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value "${s}" in: ${line}`);
  return Number(s);
}

function parseLabels(body: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    if (eq < 0) throw new Error(`bad label set in: ${line}`);
    const name = body.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`duplicate label "${name}" in: ${line}`);
    if (body[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      if (j >= body.length) throw new Error(`unterminated label value in: ${line}`);
      const ch = body[j]!;
      if (ch === '\\') {
        const next = body[j + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape in: ${line}`);
        j += 2;
      } else if (ch === '"') {
        j++;
        break;
      } else {
        value += ch;
        j++;
      }
    }
    labels[name] = value;
    if (j < body.length) {
      if (body[j] !== ',') throw new Error(`expected "," in: ${line}`);
      j++;
    }
    i = j;
  }
  return labels;
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ['', '_bucket', '_sum', '_count']) {
    if (suffix && !sample.endsWith(suffix)) continue;
    const f = families.get(suffix ? sample.slice(0, -suffix.length) : sample);
    if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return f;
  }
  return undefined;
}

function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const [, name] = line.match(/^# HELP (\S+) (.*)$/) ?? [];
      if (!name || !NAME.test(name)) throw new Error(`bad HELP: ${line}`);
      const f = families.get(name) ?? { name, type: 'untyped', samples: [] };
      f.help = line.slice(`# HELP ${name} `.length);
      families.set(name, f);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, name, type] = line.match(/^# TYPE (\S+) (\S+)$/) ?? [];
      if (!name || !type || !NAME.test(name) || !TYPES.has(type)) throw new Error(`bad TYPE: ${line}`);
      const f = families.get(name) ?? { name, type, samples: [] };
      if (f.samples.length) throw new Error(`TYPE after samples: ${line}`);
      f.type = type;
      families.set(name, f);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const [, name, labelBody, value] = m;
    const family = familyOf(name!, families);
    if (!family) throw new Error(`sample of an undeclared family: ${line}`);
    family.samples.push({ name: name!, labels: labelBody ? parseLabels(labelBody, line) : {}, value: parseValue(value!, line) });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, Sample[]>();
  for (const s of f.samples) {
    if (s.name !== `${f.name}_bucket`) continue;
    const { le, ...rest } = s.labels;
    if (le === undefined) throw new Error(`${f.name}: bucket without le`);
    const key = JSON.stringify(rest);
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, buckets] of series) {
    let prevLe = -Infinity;
    let prevCount = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels.le!, f.name);
      if (!(le > prevLe)) throw new Error(`${f.name}${key}: le not increasing`);
      if (b.value < prevCount) throw new Error(`${f.name}${key}: buckets not cumulative`);
      prevLe = le;
      prevCount = b.value;
    }
    if (prevLe !== Infinity) throw new Error(`${f.name}${key}: no le="+Inf" bucket`);
    const count = f.samples.find((s) => s.name === `${f.name}_count` && JSON.stringify(s.labels) === key);
    if (!count || count.value !== prevCount) throw new Error(`${f.name}${key}: _count differs from +Inf bucket`);
  }
}

function value(families: Map<string, Family>, sampleName: string, labels: Record<string, string> = {}): number | undefined {
  const f = familyOf(sampleName, families);
  const s = f?.samples.find(
    (x) => x.name === sampleName && Object.keys(labels).every((k) => x.labels[k] === labels[k]) && Object.keys(x.labels).length >= Object.keys(labels).length,
  );
  return s?.value;
}

describe('observability/metrics', () => {
  describe('the strict parser (so that it can fail)', () => {
    it('rejects a sample without TYPE, a bad label and non-cumulative buckets', () => {
      expect(() => parseExposition('x 1\n')).to.throw(/undeclared/);
      expect(() => parseExposition('# TYPE x counter\nx{a=1} 1\n')).to.throw(/unquoted/);
      expect(() => parseExposition('# TYPE x counter\nx 1')).to.throw(/newline/);
      expect(() =>
        parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
      ).to.throw(/cumulative/);
      expect(parseExposition('# HELP x a\n# TYPE x counter\nx{a="q\\"\\n"} 1.5e3\n').get('x')!.samples[0]).to.deep.equal({
        name: 'x',
        labels: { a: 'q"\n' },
        value: 1500,
      });
    });
  });

  it('exposes every family with HELP and TYPE, as valid text', async () => {
    const m = createMetrics();
    const { body, contentType } = await m.render();
    expect(contentType).to.match(/^text\/plain; version=0\.0\.4/);
    const families = parseExposition(body);
    const expected: Record<string, string> = {
      gateway_requests_total: 'counter',
      gateway_request_duration_seconds: 'histogram',
      gateway_upstream_duration_seconds: 'histogram',
      gateway_embed_duration_seconds: 'histogram',
      gateway_index_search_duration_seconds: 'histogram',
      gateway_tokens_spent_total: 'counter',
      gateway_tokens_saved_total: 'counter',
      gateway_cost_usd_total: 'counter',
      gateway_saved_usd_total: 'counter',
      gateway_guard_rejections_total: 'counter',
      gateway_upstream_errors_total: 'counter',
      gateway_cache_entries: 'gauge',
      gateway_index_size: 'gauge',
      gateway_cache_hit_ratio: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(families.get(name)?.type, name).to.equal(type);
      expect(families.get(name)?.help, name).to.be.a('string').and.not.equal('');
    }
  });

  it('counters, histograms and the hit ratio move with requests', async () => {
    const m = createMetrics();
    m.observeRequest({ status: 200, cacheStatus: 'miss', model: 'gpt-4o', durationSeconds: 1.2, promptTokens: 1000, completionTokens: 500, costUsd: 0.0075 });
    m.observeRequest({ status: 200, cacheStatus: 'hit', model: 'gpt-4o', durationSeconds: 0.0004, savedTokens: 1500, savedUsd: 0.0075 });
    m.observeRequest({ status: 200, cacheStatus: 'semantic-hit', model: 'gpt-4o', durationSeconds: 0.02, savedTokens: 1500, savedUsd: 0.0075 });
    m.observeRequest({ status: 200, cacheStatus: 'miss', model: 'gpt-4o', durationSeconds: 0.9, promptTokens: 10, completionTokens: 5, costUsd: 0.0001 });
    m.observeRequest({ status: 502, cacheStatus: 'bypass', model: 'gpt-4o-mini', durationSeconds: 0.3 });
    m.upstreamDuration.observe({ provider: 'openai' }, 0.8);
    m.embedDuration.observe(0.003);
    m.indexSearchDuration.observe(0.0007);
    m.guardRejections.inc({ reason: 'number-mismatch' });
    m.guardRejections.inc({ reason: 'number-mismatch' });
    m.upstreamErrors.inc({ provider: 'openai', status: '502' });
    m.sources.cacheEntries = () => 42;
    m.sources.indexSize = async () => 40;

    const f = parseExposition((await m.render()).body);
    expect(value(f, 'gateway_requests_total', { status: '200', cache: 'miss', model: 'gpt-4o' })).to.equal(2);
    expect(value(f, 'gateway_requests_total', { status: '200', cache: 'hit', model: 'gpt-4o' })).to.equal(1);
    expect(value(f, 'gateway_requests_total', { status: '502', cache: 'bypass', model: 'gpt-4o-mini' })).to.equal(1);
    expect(value(f, 'gateway_tokens_spent_total', { model: 'gpt-4o', type: 'prompt' })).to.equal(1010);
    expect(value(f, 'gateway_tokens_spent_total', { model: 'gpt-4o', type: 'completion' })).to.equal(505);
    expect(value(f, 'gateway_tokens_saved_total', { model: 'gpt-4o' })).to.equal(3000);
    expect(value(f, 'gateway_cost_usd_total', { model: 'gpt-4o' })).to.be.closeTo(0.0076, 1e-12);
    expect(value(f, 'gateway_saved_usd_total', { model: 'gpt-4o' })).to.be.closeTo(0.015, 1e-12);
    expect(value(f, 'gateway_tokens_spent_total', { model: 'gpt-4o-mini', type: 'prompt' })).to.equal(undefined);
    // 2 hits / (2 hits + 2 misses); the bypass is not a lookup.
    expect(value(f, 'gateway_cache_hit_ratio')).to.equal(0.5);
    expect(value(f, 'gateway_guard_rejections_total', { reason: 'number-mismatch' })).to.equal(2);
    expect(value(f, 'gateway_upstream_errors_total', { provider: 'openai', status: '502' })).to.equal(1);
    expect(value(f, 'gateway_cache_entries')).to.equal(42);
    expect(value(f, 'gateway_index_size')).to.equal(40);

    // The 0.4 ms hit falls in the first (0.5 ms) bucket; the 1.2 s miss only from 2.5 s on.
    expect(value(f, 'gateway_request_duration_seconds_bucket', { cache: 'hit', le: '0.0005' })).to.equal(1);
    expect(value(f, 'gateway_request_duration_seconds_bucket', { cache: 'miss', le: '1' })).to.equal(1);
    expect(value(f, 'gateway_request_duration_seconds_bucket', { cache: 'miss', le: '2.5' })).to.equal(2);
    expect(value(f, 'gateway_request_duration_seconds_count', { cache: 'miss' })).to.equal(2);
    expect(value(f, 'gateway_request_duration_seconds_sum', { cache: 'miss' })).to.be.closeTo(2.1, 1e-9);
    expect(value(f, 'gateway_upstream_duration_seconds_count', { provider: 'openai' })).to.equal(1);
    expect(value(f, 'gateway_embed_duration_seconds_bucket', { le: '0.005' })).to.equal(1);
    expect(value(f, 'gateway_index_search_duration_seconds_bucket', { le: '0.001' })).to.equal(1);

    const buckets = f.get('gateway_embed_duration_seconds')!.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.labels.le);
    expect(buckets).to.deep.equal([...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']);
  });

  it('registries are independent', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.guardRejections.inc({ reason: 'negation' });
    const fa = parseExposition((await a.render()).body);
    const fb = parseExposition((await b.render()).body);
    expect(value(fa, 'gateway_guard_rejections_total', { reason: 'negation' })).to.equal(1);
    expect(value(fb, 'gateway_guard_rejections_total', { reason: 'negation' })).to.equal(undefined);
  });

  it('a failing gauge source does not break the scrape', async () => {
    const m = createMetrics();
    m.sources.cacheEntries = () => {
      throw new Error('store down');
    };
    const f = parseExposition((await m.render()).body);
    expect(f.has('gateway_cache_entries')).to.equal(true);
    expect(value(f, 'gateway_requests_total')).to.equal(undefined);
  });

  it('caps the number of model label values', async () => {
    const m = createMetrics();
    for (let i = 0; i < MAX_MODEL_LABELS + 20; i++) {
      m.observeRequest({ status: 200, cacheStatus: 'miss', model: `model-${i}`, durationSeconds: 0.1 });
    }
    const f = parseExposition((await m.render()).body);
    const models = new Set(f.get('gateway_requests_total')!.samples.map((s) => s.labels.model));
    expect(models.size).to.equal(MAX_MODEL_LABELS + 1);
    expect(value(f, 'gateway_requests_total', { model: OTHER_MODEL_LABEL })).to.equal(20);
    expect(m.modelLabel('model-0')).to.equal('model-0');
  });

  it('can add the process metrics with the same prefix', async () => {
    const m = createMetrics({ processMetrics: true });
    const f = parseExposition((await m.render()).body);
    expect(f.has('gateway_process_cpu_user_seconds_total')).to.equal(true);
  });
});
