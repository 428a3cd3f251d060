import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createClient, type RedisClientType } from '@keyv/redis';
import { expect } from 'chai';
import { Keyv } from 'keyv';
import { stringify as toYaml } from 'yaml';
import winston from 'winston';
import { countChatPromptTokens } from '../src/accounting/tokens.js';
import { runKeysCli } from '../src/cli/keys.js';
import { GatewayKeyStore, hashGatewayKey, type CreateKeyInput } from '../src/policy/api-keys.js';
import { LocalLimitStore } from '../src/policy/limit-store-local.js';
import type { LimitStore } from '../src/policy/limit-store.js';
import { RedisLimitStore } from '../src/policy/limit-store-redis.js';
import { formatResetDuration } from '../src/policy/rate-limit-headers.js';
import { startGateway, type Gateway } from '../src/server.js';
import { openKvStores } from '../src/store/kv.js';
import { FakeAnthropic } from './helpers/fake-anthropic.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, defaultEmbedder, parseSseBody, startTestGateway, tempDir, testConfig } from './helpers/gateway.js';
import { freshRedisUrl, requireRedis } from './helpers/redis.js';

const MODEL = 'gpt-4o-mini';
const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: 'user', content }], ...extra });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function createKey(env: { DATA_DIR?: string; CACHE_STORE_URL?: string }, input: CreateKeyInput): Promise<string> {
  const kv = await openKvStores(env.CACHE_STORE_URL, env.DATA_DIR!);
  try {
    return (await new GatewayKeyStore(kv).create(input)).key;
  } finally {
    await kv.close();
  }
}


async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error('condition not reached');
}

function expect429(res: { status: number; headers: Headers; json: any }, type: string): void {
  expect(res.status).to.equal(429);
  expect(res.json.error).to.include({ type });
  expect(res.json.error.message).to.be.a('string');
  expect(Number(res.headers.get('retry-after'))).to.be.at.least(1);
}

describe('policy: gateway keys, limits, budgets, redaction (real gateway, real upstream)', () => {
  let upstream: FakeOpenAI;
  before(async () => {
    upstream = await new FakeOpenAI().start();
  });
  after(async () => upstream?.stop());
  beforeEach(() => upstream.reset());

  /** A gateway on a fresh DATA_DIR with keys created first (the file store is locked while a gateway runs). */
  async function gatewayWithKeys(inputs: CreateKeyInput[], env: Record<string, string> = {}): Promise<{ gw: Gateway; keys: string[]; dataDir: string }> {
    const dataDir = tempDir('gw-policy-');
    const keys: string[] = [];
    for (const input of inputs) keys.push(await createKey({ DATA_DIR: dataDir }, input));
    const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir, ...env });
    return { gw, keys, dataDir };
  }

  describe('gateway keys', () => {
    it('the CLI creates a key shown once and stored only as its SHA-256; the gateway then accepts it', async () => {
      const dataDir = tempDir('gw-cli-');
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/keys.ts', 'create', '--name', 'app1', '--rpm', '60', '--tpm', '100000', '--daily-usd', '5'], {
        env: { ...process.env, DATA_DIR: dataDir, CACHE_STORE_URL: '', LOG_LEVEL: 'silent' },
      });
      const key = /sk-gw-[A-Za-z0-9_-]+/.exec(stdout)?.[0];
      expect(key).to.be.a('string');
      const log = fs.readFileSync(path.join(dataDir, 'store.mdb'), 'latin1');
      expect(log).to.not.contain(key!);
      expect(log).to.not.contain(key!.slice(6, 30));
      expect(log).to.contain(hashGatewayKey(key!));
      expect(log).to.contain('"rpm":60').and.contain('"tpm":100000').and.contain('"dailyUsd":5');

      const lines: string[] = [];
      expect(await runKeysCli(['list'], { DATA_DIR: dataDir }, (l) => lines.push(l), () => {})).to.equal(0);
      expect(lines.join('\n')).to.match(/key_[0-9a-f]{12} {2}app1 .* active {2}rpm=60 tpm=100000 dailyUsd=5/);
      expect(lines.join('\n')).to.not.contain(key!);

      const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir, UPSTREAM_API_KEY: 'upstream-secret' });
      try {
        const res = await chat(gw, ask('Hello from app1'), bearer(key!));
        expect(res.status).to.equal(200);
        expect(res.headers.get('x-ratelimit-limit-requests')).to.equal('60');
        expect(res.headers.get('x-ratelimit-remaining-requests')).to.equal('59');
        // The upstream gets the configured upstream key, never the gateway key.
        expect(upstream.calls[0]!.headers.authorization).to.equal('Bearer upstream-secret');
        expect(JSON.stringify(upstream.calls)).to.not.contain(key!);
      } finally {
        await gw.close();
      }
    });

    it('the CLI refuses a zero (or negative) rpm, tpm, concurrency or daily-usd, like the admin API, instead of creating an unlimited key', async () => {
      const dataDir = tempDir('gw-cli-zero-');
      for (const [flag, value] of [['rpm', '0'], ['tpm', '0'], ['concurrency', '0'], ['daily-usd', '0'], ['daily-usd', '0.0'], ['rpm', '-5'], ['rpm', '']]) {
        const errors: string[] = [];
        const code = await runKeysCli(['create', '--name', 'z', `--${flag}=${value}`], { DATA_DIR: dataDir }, () => {}, (l) => errors.push(l));
        expect(code, `--${flag} ${value}`).to.equal(2);
        expect(errors[0]).to.contain(`--${flag} must be`).and.contain('greater than 0');
        expect(errors.join('\n')).to.contain('usage: npm run keys');
      }
      const lines: string[] = [];
      expect(await runKeysCli(['list'], { DATA_DIR: dataDir }, (l) => lines.push(l), () => {})).to.equal(0);
      expect(lines).to.deep.equal(['no keys']);
      // Positive values, fractional dollars included, are still accepted.
      expect(await runKeysCli(['create', '--name', 'ok', '--rpm', '1', '--daily-usd', '0.5'], { DATA_DIR: dataDir }, () => {}, () => {})).to.equal(0);
    });

    it('never forwards a gateway key upstream, even when no UPSTREAM_API_KEY is set; a client credential still passes through', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'nokey' }]);
      try {
        expect((await chat(gw, ask('With a gateway key'), bearer(keys[0]!))).status).to.equal(200);
        expect(upstream.calls[0]!.headers.authorization).to.equal(undefined);
        expect((await chat(gw, ask('With my own upstream key'), bearer('sk-client-own-key'))).status).to.equal(200);
        expect(upstream.calls[1]!.headers.authorization).to.equal('Bearer sk-client-own-key');
        const models = await fetch(`${gw.url}/v1/models`, { headers: bearer(keys[0]!) });
        expect(models.status).to.equal(200);
        expect(upstream.calls).to.have.length(2);
      } finally {
        await gw.close();
      }
    });

    it('refuses unknown and revoked gateway keys with 401 in OpenAI shape', async () => {
      const dataDir = tempDir('gw-revoke-');
      const live = await createKey({ DATA_DIR: dataDir }, { name: 'live' });
      const revoked = await createKey({ DATA_DIR: dataDir }, { name: 'gone' });
      expect(await runKeysCli(['revoke', 'gone'], { DATA_DIR: dataDir }, () => {}, () => {})).to.equal(0);
      const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir });
      try {
        for (const key of [revoked, `sk-gw-${'A'.repeat(43)}`]) {
          const res = await chat(gw, ask('Let me in'), bearer(key));
          expect(res.status).to.equal(401);
          expect(res.json.error).to.include({ type: 'invalid_request_error', code: 'invalid_api_key' });
          expect(res.text).to.not.contain(key);
        }
        expect((await chat(gw, ask('Let me in'), bearer(live))).status).to.equal(200);
        expect(upstream.calls).to.have.length(1);
      } finally {
        await gw.close();
      }
    });

    it('REQUIRE_API_KEY=true makes a gateway key mandatory, for chat and for /v1/models', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'required' }], { REQUIRE_API_KEY: 'true' });
      try {
        const none = await chat(gw, ask('No key at all'));
        expect(none.status).to.equal(401);
        expect(none.json.error.code).to.equal('missing_api_key');
        const foreign = await chat(gw, ask('An upstream key'), bearer('sk-some-openai-key'));
        expect(foreign.status).to.equal(401);
        expect(foreign.json.error.code).to.equal('invalid_api_key');
        expect((await fetch(`${gw.url}/v1/models`)).status).to.equal(401);
        expect(upstream.calls).to.have.length(0);
        expect((await chat(gw, ask('A gateway key'), bearer(keys[0]!))).status).to.equal(200);
      } finally {
        await gw.close();
      }
    });

    it('gives each key its own cache scope', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'a' }, { name: 'b' }]);
      try {
        await chat(gw, ask('Summarize the plot of Macbeth'), bearer(keys[0]!));
        expect((await chat(gw, ask('Summarize the plot of Macbeth'), bearer(keys[1]!))).headers.get('x-cache-status')).to.equal('miss');
        expect((await chat(gw, ask('Summarize the plot of Macbeth'), bearer(keys[0]!))).headers.get('x-cache-status')).to.equal('hit');
      } finally {
        await gw.close();
      }
    });
  });

  describe('limits through the gateway', () => {
    it('requests/minute: 429 with Retry-After and x-ratelimit-*-requests; cache hits count too', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'rpm', limits: { rpm: 2 } }]);
      try {
        const first = await chat(gw, ask('What is a sliding window?'), bearer(keys[0]!));
        expect(first.headers.get('x-ratelimit-remaining-requests')).to.equal('1');
        const hit = await chat(gw, ask('What is a sliding window?'), bearer(keys[0]!));
        expect(hit.headers.get('x-cache-status')).to.equal('hit');
        expect(hit.headers.get('x-ratelimit-remaining-requests')).to.equal('0');
        const over = await chat(gw, ask('What is a sliding window?'), bearer(keys[0]!));
        expect429(over, 'requests');
        expect(over.json.error.code).to.equal('rate_limit_exceeded');
        expect(over.headers.get('x-ratelimit-limit-requests')).to.equal('2');
        expect(over.headers.get('x-ratelimit-remaining-requests')).to.equal('0');
        expect(over.headers.get('x-ratelimit-reset-requests')).to.match(/^(\d+ms|[\d.]+s|\d+m[\d.]+s)$/);
        expect(Number(over.headers.get('retry-after'))).to.be.within(1, 60);
        expect(upstream.calls).to.have.length(1);
      } finally {
        await gw.close();
      }
    });

    it('requests/minute also holds on pass-through routes (embeddings), and chat and pass-through share the window', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'rpm-pass', limits: { rpm: 2 } }]);
      try {
        const embed = () =>
          fetch(`${gw.url}/v1/embeddings`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...bearer(keys[0]!) },
            body: JSON.stringify({ model: 'text-embedding-3-small', input: 'hello' }),
          });
        const first = await embed();
        expect(first.status).to.equal(200);
        expect(first.headers.get('x-ratelimit-remaining-requests')).to.equal('1');
        await first.text();
        const miss = await chat(gw, ask('What does a pass-through route count?'), bearer(keys[0]!));
        expect(miss.status).to.equal(200);
        const over = await embed();
        expect(over.status).to.equal(429);
        const body = (await over.json()) as { error: { code: string; type: string; message: string } };
        expect(body.error.code).to.equal('rate_limit_exceeded');
        expect(Number(over.headers.get('retry-after'))).to.be.within(1, 60);
        // One embeddings call and one chat call reached the upstream; the refused one did not.
        expect(upstream.calls.filter((c) => (c.body as { input?: unknown }).input !== undefined)).to.have.length(1);
        expect(upstream.calls).to.have.length(2);
      } finally {
        await gw.close();
      }
    });

    it('x-ratelimit-* headers are only OpenAI\'s names with valid values, on a 200 and on a 429', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'hdrs', limits: { rpm: 1, tpm: 100_000, concurrency: 5 } }]);
      const expectOpenAiRateLimitHeaders = (res: { headers: Headers }) => {
        const names: string[] = [];
        res.headers.forEach((value, name) => {
          if (!name.startsWith('x-ratelimit-')) return;
          names.push(name);
          const m = /^x-ratelimit-(limit|remaining|reset)-(requests|tokens)$/.exec(name);
          expect(m, `header ${name}`).to.not.equal(null);
          if (m![1] === 'reset') expect(value, name).to.match(/^(\d+ms|\d+(\.\d+)?s|\d+m\d+(\.\d+)?s)$/);
          else expect(value, name).to.match(/^\d+$/);
        });
        expect(names).to.include.members(['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests']);
      };
      try {
        const ok = await chat(gw, ask('Which headers come back?'), bearer(keys[0]!));
        expect(ok.status).to.equal(200);
        expectOpenAiRateLimitHeaders(ok);
        expect(ok.headers.get('x-ratelimit-limit-tokens')).to.equal('100000');
        const over = await chat(gw, ask('And on a refusal?'), bearer(keys[0]!));
        expect429(over, 'requests');
        expectOpenAiRateLimitHeaders(over);
        expect(over.headers.get('x-ratelimit-remaining-requests')).to.equal('0');
      } finally {
        await gw.close();
      }
    });

    it('tokens/minute: reserves the tiktoken estimate, corrects it with the upstream usage, 429 with x-ratelimit-*-tokens; hits cost no tokens', async () => {
      const messages = (text: string) => [{ role: 'user' as const, content: text }];
      const a = 'Please describe the water cycle in two sentences';
      const b = 'Which chess opening suits an aggressive beginner?';
      const c = 'Translate good morning into Portuguese and Italian';
      const fresh = { 'cache-control': 'no-cache' };
      // The fake upstream's usage: prompt = JSON length / 4, completion = words of its reply.
      const actual = (text: string) => (JSON.stringify(messages(text)).length >> 2) + `Answer #${text.length} to: ${text}`.split(/(?<= )/).length;
      const estimate = (text: string) => countChatPromptTokens(MODEL, messages(text)) + 1000;
      expect(estimate(b)).to.be.greaterThan(actual(a));
      // b fits only if a's reservation was corrected from its estimate down to its real usage.
      const tpm = actual(a) + estimate(b);
      const { gw, keys } = await gatewayWithKeys([{ name: 'tpm', limits: { tpm } }]);
      try {
        const ra = await chat(gw, ask(a, { max_tokens: 1000 }), bearer(keys[0]!));
        expect(ra.status).to.equal(200);
        expect(ra.headers.get('x-ratelimit-limit-tokens')).to.equal(String(tpm));
        expect(ra.headers.get('x-ratelimit-remaining-tokens')).to.equal(String(tpm - estimate(a)));
        const rb = await chat(gw, ask(b, { max_tokens: 1000 }), { ...fresh, ...bearer(keys[0]!) });
        expect(rb.status).to.equal(200);
        const rc = await chat(gw, ask(c, { max_tokens: 1000 }), { ...fresh, ...bearer(keys[0]!) });
        expect429(rc, 'tokens');
        expect(rc.headers.get('x-ratelimit-limit-tokens')).to.equal(String(tpm));
        expect(rc.headers.get('x-ratelimit-remaining-tokens')).to.equal(String(tpm - actual(a) - actual(b)));
        expect(rc.headers.get('x-ratelimit-reset-tokens')).to.match(/^(\d+ms|[\d.]+s|\d+m[\d.]+s)$/);
        expect(upstream.calls).to.have.length(2);
        // A hit needs no tokens, so it is served although the token window is full.
        const hit = await chat(gw, ask(a, { max_tokens: 1000 }), bearer(keys[0]!));
        expect(hit.status).to.equal(200);
        expect(hit.headers.get('x-cache-status')).to.equal('hit');
      } finally {
        await gw.close();
      }
    });

    it('a request larger than the whole tpm is refused without a pointless Retry-After', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'tiny', limits: { tpm: 5 } }]);
      try {
        const res = await chat(gw, ask('This prompt alone is more than five tokens long'), bearer(keys[0]!));
        expect(res.status).to.equal(429);
        expect(res.json.error.message).to.contain('Request too large');
        expect(res.headers.get('retry-after')).to.equal(null);
        expect(upstream.calls).to.have.length(0);
      } finally {
        await gw.close();
      }
    });

    it('concurrency: a second request while one is in flight gets 429; the slot is freed afterwards', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'conc', limits: { concurrency: 1 } }]);
      try {
        upstream.queue.push({ latencyMs: 300 });
        const slow = chat(gw, ask('A slow question'), bearer(keys[0]!));
        await waitFor(() => upstream.calls.length === 1);
        const blocked = await chat(gw, ask('A second question'), bearer(keys[0]!));
        expect429(blocked, 'requests');
        expect(blocked.json.error.message).to.contain('concurrent');
        expect((await slow).status).to.equal(200);
        expect((await chat(gw, ask('A third question'), bearer(keys[0]!))).status).to.equal(200);
      } finally {
        await gw.close();
      }
    });

    it('daily budget: once spent, misses get 429 insufficient_quota until UTC midnight; hits are still served', async () => {
      // One micro-dollar: the first call (priced from gpt-4o-mini's usage) spends more than that.
      const { gw, keys } = await gatewayWithKeys([{ name: 'budget', limits: { dailyUsd: 0.000001 } }]);
      try {
        expect((await chat(gw, ask('What does a budget cap do?'), bearer(keys[0]!))).status).to.equal(200);
        const over = await chat(gw, ask('Another paid question'), bearer(keys[0]!));
        expect429(over, 'insufficient_quota');
        expect(over.json.error.code).to.equal('insufficient_quota');
        const midnight = new Date();
        midnight.setUTCHours(24, 0, 0, 0);
        expect(Number(over.headers.get('retry-after'))).to.be.within(1, Math.ceil((midnight.getTime() - Date.now()) / 1000) + 1);
        expect((await chat(gw, ask('What does a budget cap do?'), bearer(keys[0]!))).headers.get('x-cache-status')).to.equal('hit');
        expect(upstream.calls).to.have.length(1);
      } finally {
        await gw.close();
      }
    });

    it('limits and spend survive a gateway restart on the file store', async () => {
      const { gw, keys, dataDir } = await gatewayWithKeys([{ name: 'restart', limits: { rpm: 2, dailyUsd: 0.000001 } }]);
      await chat(gw, ask('Before the restart, one'), bearer(keys[0]!));
      await gw.close();
      const again = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir });
      try {
        // The spend of the first call carried over: the budget is gone.
        expect429(await chat(again, ask('After the restart, two'), bearer(keys[0]!)), 'insufficient_quota');
        // And the two requests so far fill the rpm window.
        expect429(await chat(again, ask('After the restart, three'), bearer(keys[0]!)), 'requests');
        expect(upstream.calls).to.have.length(1);
      } finally {
        await again.close();
      }
    });
  });

  describe('limits shared by two gateways on Redis', function () {
    let redisUrl: string;
    before(async function () {
      await requireRedis(this);
      redisUrl = (await freshRedisUrl())!; // a database of the run's own server, used by nothing else
    });

    it('two gateway instances count one rpm window and one concurrency limit (a refused request is not counted)', async () => {
      const key = await createKey({ CACHE_STORE_URL: redisUrl, DATA_DIR: tempDir() }, { name: 'shared', limits: { rpm: 2, concurrency: 1 } });
      const gw1 = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: redisUrl });
      const gw2 = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: redisUrl });
      try {
        upstream.queue.push({ latencyMs: 300 });
        const slow = chat(gw1, ask('Shared limit one'), bearer(key));
        await waitFor(() => upstream.calls.length === 1);
        const blocked = await chat(gw2, ask('Shared limit two'), bearer(key));
        expect(blocked.status).to.equal(429);
        expect(blocked.json.error.message).to.contain('concurrent');
        expect((await slow).status).to.equal(200);
        expect((await chat(gw2, ask('Shared limit three'), bearer(key))).status).to.equal(200);
        const over = await chat(gw1, ask('Shared limit four'), bearer(key));
        expect429(over, 'requests');
        expect(over.headers.get('x-ratelimit-limit-requests')).to.equal('2');
        expect(upstream.calls).to.have.length(2);
      } finally {
        await gw1.close();
        await gw2.close();
      }
    });
  });

  describe('limit stores with a fake clock', () => {
    const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
    const backends: Array<[string, () => Promise<{ store: LimitStore; done: () => Promise<void> }>]> = [
      ['local', async () => ({ store: new LocalLimitStore(new Keyv<unknown>()), done: async () => {} })],
      [
        'redis',
        async () => {
          const client = createClient({ url: (await freshRedisUrl())! }) as RedisClientType;
          await client.connect();
          const prefix = `test:${process.pid}:${Date.now()}:`;
          return {
            store: new RedisLimitStore(client, prefix),
            done: async () => {
              for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await client.del(keys);
              await client.close();
            },
          };
        },
      ],
    ];
    for (const [name, open] of backends) {
      describe(name, function () {
        let store: LimitStore;
        let done: () => Promise<void>;
        before(async function () {
          if (name === 'redis') await requireRedis(this);
        });
        beforeEach(async () => ({ store, done } = await open()));
        afterEach(async () => done?.());

        it('requests: a sliding window, not a fixed minute', async () => {
          const limits = { rpm: 2 };
          expect((await store.admit('k', 'r1', limits, T0)).ok).to.equal(true);
          expect((await store.admit('k', 'r2', limits, T0 + 30_000)).ok).to.equal(true);
          const refused = await store.admit('k', 'r3', limits, T0 + 59_000);
          expect(refused).to.deep.include({ ok: false, rejected: 'requests', retryAfterMs: 1000 });
          expect(refused.requests).to.deep.equal({ limit: 2, used: 2, resetMs: 1000 });
          // r1 has left the window, r2 has not.
          expect((await store.admit('k', 'r4', limits, T0 + 60_000)).ok).to.equal(true);
          expect((await store.admit('k', 'r5', limits, T0 + 60_000)).ok).to.equal(false);
        });

        it('tokens: the wait is until enough reservations leave the window; corrections count', async () => {
          const limits = { tpm: 100 };
          expect((await store.reserveTokens('k', 'a', 60, limits, T0)).ok).to.equal(true);
          expect((await store.reserveTokens('k', 'b', 30, limits, T0 + 10_000)).ok).to.equal(true);
          const refused = await store.reserveTokens('k', 'c', 50, limits, T0 + 20_000);
          expect(refused).to.deep.include({ ok: false, rejected: 'tokens', retryAfterMs: 40_000 });
          await store.correctTokens('k', 'a', 10);
          const after = await store.reserveTokens('k', 'c', 50, limits, T0 + 20_000);
          expect(after).to.deep.equal({ ok: true, tokens: { limit: 100, used: 90, resetMs: 40_000 } });
          expect(await store.reserveTokens('k', 'd', 101, limits, T0 + 20_000)).to.deep.include({ ok: false, rejected: 'too_large' });
        });

        it('concurrency: slots are taken and given back', async () => {
          const limits = { concurrency: 2 };
          expect((await store.admit('k', 'a', limits, T0)).ok).to.equal(true);
          expect((await store.admit('k', 'b', limits, T0)).ok).to.equal(true);
          expect(await store.admit('k', 'c', limits, T0)).to.deep.include({ ok: false, rejected: 'concurrency' });
          await store.release('k', 'a');
          expect((await store.admit('k', 'c', limits, T0)).ok).to.equal(true);
        });

        it('budget: spend per UTC day, refused at the limit, fresh the next day', async () => {
          const limits = { dailyUsd: 0.01 };
          expect((await store.reserveTokens('k', 'a', 0, limits, T0)).ok).to.equal(true);
          await store.addSpend('k', 6000, T0);
          await store.addSpend('k', 4000, T0 + 1000);
          expect(await store.spentToday('k', T0)).to.equal(10_000);
          const refused = await store.reserveTokens('k', 'b', 0, limits, T0 + 2000);
          expect(refused).to.deep.include({ ok: false, rejected: 'budget', retryAfterMs: 12 * 3600_000 - 2000 });
          expect((await store.reserveTokens('k', 'c', 0, limits, T0 + 12 * 3600_000)).ok).to.equal(true);
        });

        it('keeps keys apart', async () => {
          expect((await store.admit('k1', 'a', { rpm: 1 }, T0)).ok).to.equal(true);
          expect((await store.admit('k2', 'a', { rpm: 1 }, T0)).ok).to.equal(true);
          expect((await store.admit('k1', 'b', { rpm: 1 }, T0)).ok).to.equal(false);
        });
      });
    }

    it('formats reset durations like OpenAI', () => {
      expect(formatResetDuration(20)).to.equal('20ms');
      expect(formatResetDuration(1500)).to.equal('1.5s');
      expect(formatResetDuration(360_000)).to.equal('6m0s');
      expect(formatResetDuration(61_250)).to.equal('1m1.25s');
    });
  });

  describe('redaction through the gateway', () => {
    const EMAIL = 'jane.doe@example.com';
    const OTHER = 'max.mustermann@example.org';

    function memoryLogger(lines: string[]): winston.Logger {
      const sink = new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      return winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
    }

    it('mask: the upstream and the store see placeholders, the client gets its values back (JSON, hits and streams), logs get counts only', async () => {
      const logs: string[] = [];
      const config = testConfig({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'mask' });
      const gw = await startGateway(config, { embedder: await defaultEmbedder(), logger: memoryLogger(logs) });
      try {
        const res = await chat(gw, ask(`Write a short reply to ${EMAIL} about the meeting`));
        expect(res.status).to.equal(200);
        expect(JSON.stringify(upstream.calls[0]!.body)).to.contain('[EMAIL_1]').and.not.contain(EMAIL);
        expect(res.json.choices[0].message.content).to.contain(EMAIL).and.not.contain('[EMAIL_1]');

        // Another address in the same sentence is the same masked prompt: a hit, restored with this request's value.
        const hit = await chat(gw, ask(`Write a short reply to ${OTHER} about the meeting`));
        expect(hit.headers.get('x-cache-status')).to.equal('hit');
        expect(hit.json.choices[0].message.content).to.contain(OTHER).and.not.contain(EMAIL);

        const streamed = await chat(gw, ask(`Call me on +1 415 555 0100 or mail ${EMAIL} tomorrow`, { stream: true }));
        const text = parseSseBody(streamed.text)
          .filter((e) => e !== '[DONE]')
          .map((e) => e.choices[0]?.delta?.content ?? '')
          .join('');
        expect(text).to.contain(EMAIL).and.contain('+1 415 555 0100');
        expect(JSON.stringify(upstream.calls)).to.not.contain(EMAIL).and.not.contain('555 0100');
        expect(upstream.calls).to.have.length(2);

        const redactionLogs = logs.filter((l) => l.includes('"event":"redaction"'));
        expect(redactionLogs).to.have.length(3);
        expect(JSON.parse(redactionLogs[2]!).findings).to.deep.equal({ EMAIL: 1, PHONE: 1 });
        expect(logs.join('\n')).to.not.contain(EMAIL).and.not.contain(OTHER);
      } finally {
        await gw.close();
      }
      const stored = fs.readFileSync(path.join(config.dataDir, 'store.mdb'), 'latin1');
      expect(stored).to.contain('[EMAIL_1]');
      expect(stored).to.not.contain(EMAIL).and.not.contain(OTHER).and.not.contain('555 0100');
    });

    it('mask: a placeholder split across stream chunks is restored whole (Anthropic target via routing)', async () => {
      const anthropic = await new FakeAnthropic('k').start();
      const file = path.join(tempDir('gw-policy-routing-'), 'gateway.yaml');
      fs.writeFileSync(file, toYaml({ models: { claude: [{ provider: 'anthropic', base_url: anthropic.url, model: 'claude-x', api_key_env: 'POLICY_TEST_ANTHROPIC_KEY' }] } }));
      const gw = await startTestGateway({ GATEWAY_CONFIG: file, POLICY_TEST_ANTHROPIC_KEY: 'k' });
      try {
        anthropic.behavior = { charsPerDelta: 4 };
        const res = await chat(gw, { model: 'claude', messages: [{ role: 'user', content: `Forward this to ${EMAIL} now` }], stream: true });
        const deltas = parseSseBody(res.text)
          .filter((e) => e !== '[DONE]')
          .map((e) => e.choices[0]?.delta?.content ?? '');
        expect(deltas.join('')).to.equal(`Claude says: Forward this to ${EMAIL} now`);
        expect(JSON.stringify(anthropic.calls[0]!.body)).to.contain('[EMAIL_1]').and.not.contain(EMAIL);
      } finally {
        await gw.close();
        await anthropic.stop();
      }
    });

    it('block: 400 naming the kinds found, nothing sent upstream', async () => {
      const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, REDACTION: 'block' });
      try {
        const res = await chat(gw, ask(`My card is 4111 1111 1111 1111 and my mail is ${EMAIL}`));
        expect(res.status).to.equal(400);
        expect(res.json.error).to.include({ type: 'invalid_request_error', code: 'sensitive_data_blocked' });
        expect(res.json.error.message).to.contain('credit card number').and.contain('e-mail address');
        expect(res.text).to.not.contain(EMAIL).and.not.contain('4111');
        expect(upstream.calls).to.have.length(0);
        expect((await chat(gw, ask('Nothing sensitive in here'))).status).to.equal(200);
      } finally {
        await gw.close();
      }
    });

    it('a key can carry its own mode, over REDACTION', async () => {
      const { gw, keys } = await gatewayWithKeys([{ name: 'strict', redaction: 'block' }, { name: 'relaxed', redaction: 'off' }], { REDACTION: 'mask' });
      try {
        expect((await chat(gw, ask(`Mail ${EMAIL}`), bearer(keys[0]!))).status).to.equal(400);
        expect((await chat(gw, ask(`Mail ${EMAIL}`), bearer(keys[1]!))).status).to.equal(200);
        expect(JSON.stringify(upstream.calls[0]!.body)).to.contain(EMAIL);
      } finally {
        await gw.close();
      }
    });
  });
});
