import { expect } from 'chai';
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient, type RedisClientType } from '@keyv/redis';
import type { Gateway } from '../src/server.js';
import { openKvStores } from '../src/store/kv.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { startTestGateway, tempDir } from './helpers/gateway.js';
import { NO_REDIS_MESSAGE, redisServerBinary, TestRedis } from './helpers/redis.js';

/**
 * A Redis outage (issue #12): Redis stalled (SIGSTOP) or killed and restarted, against private
 * redis-servers these tests start, a real upstream on loopback and a real gateway. Requests must
 * be answered (uncached, x-cache-status: bypass) rather than hang, /health must say degraded and
 * then ok again, caching must resume without a restart, and keys and limits must fail closed.
 *
 * The waits below are bounds on liveness (a request that never comes back fails the test), not
 * measurements.
 */

const STORE_TIMEOUT_MS = '2000';
const ANSWER_BOUND_MS = 15_000;

interface Answer {
  status: number;
  cache: string | null;
  json: any;
}

async function ask(gw: Gateway, content: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
    signal: AbortSignal.timeout(ANSWER_BOUND_MS),
  });
  return { status: res.status, cache: res.headers.get('x-cache-status'), json: await res.json() };
}

async function health(gw: Gateway): Promise<{ status: string; reason?: string }> {
  return (await fetch(`${gw.url}/health`, { signal: AbortSignal.timeout(ANSWER_BOUND_MS) })).json() as Promise<{ status: string; reason?: string }>;
}

async function metric(gw: Gateway, name: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`, { signal: AbortSignal.timeout(ANSWER_BOUND_MS) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Polls until `ok` holds; false when `bound` ms pass first. */
async function eventually(ok: () => Promise<boolean>, bound = 30_000): Promise<boolean> {
  const deadline = Date.now() + bound;
  while (Date.now() < deadline) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('Redis outage (private redis-servers: stalled, killed, unreachable, read-only)', function () {
  this.timeout(120_000);
  let upstream: FakeOpenAI;
  let redis: TestRedis | undefined;
  let gw: Gateway | undefined;

  before(async function () {
    if (!redisServerBinary()) {
      console.log(`      (${NO_REDIS_MESSAGE})`);
      this.skip();
    }
    upstream = await new FakeOpenAI().start();
  });
  after(async () => upstream?.stop());
  afterEach(async () => {
    redis?.resume();
    await gw?.close();
    gw = undefined;
    await redis?.stop();
    redis = undefined;
  });

  /** The outage itself: every request answered, uncached, upstream called; health and metrics say so. */
  async function duringOutage(g: Gateway, acknowledged: string): Promise<void> {
    let calls = upstream.calls.length;
    const fresh = await ask(g, 'During the outage: what is the capital of Peru?');
    expect(fresh.status).to.equal(200);
    expect(fresh.cache).to.equal('bypass');
    expect(fresh.json.choices[0].message.content).to.equal(FakeOpenAI.replyFor({ messages: [{ role: 'user', content: 'During the outage: what is the capital of Peru?' }] }));
    expect(upstream.calls.length).to.equal(calls + 1);
    // An entry acknowledged before the outage, whose answer the gateway holds in memory, is not
    // served from memory either: the whole cache is bypassed.
    calls = upstream.calls.length;
    const known = await ask(g, acknowledged);
    expect(known.status).to.equal(200);
    expect(known.cache).to.equal('bypass');
    expect(upstream.calls.length).to.equal(calls + 1);
    const h = await health(g);
    expect(h.status).to.equal('degraded');
    expect(h.reason).to.match(/store connect failing/);
    expect(await metric(g, 'gateway_store_failures_total{op="connect"}')).to.be.greaterThan(0);
    expect(await metric(g, 'gateway_store_bypassed_requests_total')).to.be.at.least(2);
    expect(await metric(g, 'gateway_store_degraded')).to.equal(1);
  }

  /** After the outage: health ok again by itself, the acknowledged entry a hit, new answers cached. */
  async function afterOutage(g: Gateway, acknowledged: string): Promise<void> {
    expect(await eventually(async () => (await health(g)).status === 'ok'), '/health back to ok without a restart').to.equal(true);
    const calls = upstream.calls.length;
    expect((await ask(g, acknowledged)).cache, 'acknowledged before the outage').to.equal('hit');
    expect(upstream.calls.length).to.equal(calls);
    // A namespace of its own: the probe must be a miss whatever the verifier makes of its wording.
    const prompt = 'How many legs does a spider have?';
    const ns = { 'x-cache-namespace': 'after-outage' };
    expect((await ask(g, prompt, ns)).cache).to.equal('miss');
    expect((await ask(g, prompt, ns)).cache, 'caching resumed').to.equal('hit');
    expect(upstream.calls.length).to.equal(calls + 1);
  }

  async function startWithOneEntry(r: TestRedis): Promise<{ g: Gateway; acknowledged: string }> {
    const g = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: r.url(), STORE_TIMEOUT_MS });
    const acknowledged = 'Before the outage: how tall is Mount Everest?';
    expect((await ask(g, acknowledged)).cache).to.equal('miss');
    expect((await ask(g, acknowledged)).cache).to.equal('hit');
    expect((await health(g)).status).to.equal('ok');
    return { g, acknowledged };
  }

  it('Redis stalled (SIGSTOP): requests answered uncached (bypass), /health degraded; after SIGCONT ok again and caching resumes', async () => {
    redis = await new TestRedis().start();
    const { g, acknowledged } = await startWithOneEntry(redis);
    gw = g;
    redis.pause();
    await duringOutage(g, acknowledged);
    redis.resume();
    await afterOutage(g, acknowledged);
  });

  it('Redis killed, then restarted on the same port (append-only file): the same, and the acknowledged entry is still served', async () => {
    redis = await new TestRedis({ durable: true }).start();
    const { g, acknowledged } = await startWithOneEntry(redis);
    gw = g;
    await redis.kill();
    await duringOutage(g, acknowledged);
    await redis.start();
    await afterOutage(g, acknowledged);
  });

  it('a keyv write the store refuses (read-only Redis) returns false and counts as a store failure', async () => {
    redis = await new TestRedis().start();
    const stores = await openKvStores(redis.url(), os.tmpdir(), { redis: { commandTimeoutMs: 1000, connectTimeoutMs: 5000 } });
    const admin = createClient({ url: redis.url() }) as RedisClientType;
    await admin.connect();
    try {
      const kv = stores.open<string>('test-outage');
      expect(await kv.set('before', 'v')).to.equal(true);
      // A replica of a master that does not exist: reads work, every write is refused (READONLY).
      await admin.sendCommand(['REPLICAOF', '127.0.0.1', String(await freePort())]);
      expect(await kv.set('after', 'v')).to.equal(false);
      const s = stores.health.snapshot();
      expect(s.status).to.equal('degraded');
      expect(s.failures.write).to.equal(1);
      expect(s.reason).to.match(/store write failing: READONLY/);
      // Refused writes are not an outage: the store is still reachable, reads still answer.
      expect(stores.health.unreachable).to.equal(false);
      expect(await kv.get('before')).to.equal('v');
    } finally {
      await admin.sendCommand(['REPLICAOF', 'NO', 'ONE']).catch(() => undefined);
      await admin.close();
      await stores.close();
    }
  });

  it('a cache entry whose writes Redis refused is reported (degraded, metric) and not taken for stored', async () => {
    redis = await new TestRedis().start();
    gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE_STORE_URL: redis.url(), STORE_TIMEOUT_MS });
    const admin = createClient({ url: redis.url() }) as RedisClientType;
    await admin.connect();
    try {
      await admin.sendCommand(['REPLICAOF', '127.0.0.1', String(await freePort())]);
      const prompt = 'Read-only Redis: what is the boiling point of ethanol?';
      const calls = upstream.calls.length;
      const first = await ask(gw, prompt);
      expect(first.status).to.equal(200);
      expect(first.cache).to.equal('miss');
      expect(await metric(gw, 'gateway_store_failures_total{op="write"}')).to.be.greaterThan(0);
      const h = await health(gw);
      expect(h.status).to.equal('degraded');
      expect(h.reason).to.match(/store write failing: READONLY/);
      // Nothing was stored, so the same question goes upstream again.
      expect((await ask(gw, prompt)).cache).to.equal('miss');
      expect(upstream.calls.length).to.equal(calls + 2);
    } finally {
      await admin.sendCommand(['REPLICAOF', 'NO', 'ONE']).catch(() => undefined);
      await admin.close();
    }
  });

  it('gateway keys and limits fail closed while Redis is down: 503 store_unavailable in OpenAI shape, nothing upstream', async () => {
    redis = await new TestRedis().start();
    const admin = { authorization: 'Bearer admin-secret', 'content-type': 'application/json' };
    gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, UPSTREAM_API_KEY: 'sk-upstream', CACHE_STORE_URL: redis.url(), STORE_TIMEOUT_MS, ADMIN_API_KEY: 'admin-secret' });
    const create = async (body: Record<string, unknown>) => {
      const res = await fetch(`${gw!.url}/v1/gateway/keys`, { method: 'POST', headers: admin, body: JSON.stringify(body) });
      expect(res.status).to.equal(201);
      return (await res.json()) as { key: string; record: { id: string } };
    };
    const limited = await create({ name: 'limited', rpm: 1 });
    const plain = await create({ name: 'plain' });
    const revoked = await create({ name: 'revoked' });
    expect((await fetch(`${gw.url}/v1/gateway/keys/${revoked.record.id}`, { method: 'DELETE', headers: admin })).status).to.equal(200);
    // The limited key's one request a minute is spent before the outage.
    expect((await ask(gw, 'Limits: first question', { authorization: `Bearer ${limited.key}` })).status).to.equal(200);
    expect((await ask(gw, 'Limits: second question', { authorization: `Bearer ${limited.key}` })).status).to.equal(429);
    expect((await ask(gw, 'Revoked: a question', { authorization: `Bearer ${revoked.key}` })).status).to.equal(401);

    await redis.kill();
    const calls = upstream.calls.length;
    for (const [name, key] of [['limited', limited.key], ['plain', plain.key], ['revoked', revoked.key]] as const) {
      const r = await ask(gw, `While Redis is down, ${name}: a question`, { authorization: `Bearer ${key}` });
      expect(r.status, name).to.equal(503);
      expect(r.json.error.code, name).to.equal('store_unavailable');
      expect(r.json.error.type, name).to.equal('server_error');
      expect(r.json.error.message, name).to.be.a('string');
    }
    // Pass-through routes check keys the same way.
    const passthrough = await fetch(`${gw.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plain.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }),
      signal: AbortSignal.timeout(ANSWER_BOUND_MS),
    });
    expect(passthrough.status).to.equal(503);
    expect(((await passthrough.json()) as { error: { code: string } }).error.code).to.equal('store_unavailable');
    // Key management cannot report a change it could not store.
    const createWhileDown = await fetch(`${gw.url}/v1/gateway/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'during' }), signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
    expect(createWhileDown.status).to.equal(503);
    expect(upstream.calls.length).to.equal(calls);
    // A client with its own provider credential needs no store: still served (uncached).
    const own = await ask(gw, 'While Redis is down, own credential: a question', { authorization: 'Bearer sk-client-own' });
    expect(own.status).to.equal(200);
    expect(own.cache).to.equal('bypass');
  });

  describe('start with the store unreachable (the real entry point, a child process)', () => {
    const startGatewayProcess = (env: Record<string, string>) =>
      new Promise<{ code: number | null; stderr: string; timedOut: boolean }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/main.ts')], {
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: tempDir(), UPSTREAM_BASE_URL: upstream.url, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const bound = setTimeout(() => {
          child.kill('SIGKILL');
          resolve({ code: null, stderr, timedOut: true });
        }, 60_000);
        child.once('exit', (code) => {
          clearTimeout(bound);
          resolve({ code, stderr, timedOut: false });
        });
      });

    it('nothing listening: exits non-zero with the URL, without its password', async () => {
      const port = await freePort();
      const r = await startGatewayProcess({ CACHE_STORE_URL: `redis://gw:s3cret-Pa55@127.0.0.1:${port}/2`, STORE_CONNECT_TIMEOUT_MS: '1000' });
      expect(r.timedOut, r.stderr).to.equal(false);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain(`127.0.0.1:${port}/2`);
      expect(r.stderr).to.match(/cannot connect to the Redis store/);
      expect(r.stderr).to.not.contain('s3cret-Pa55');
    });

    it('a stalled Redis (SIGSTOP) at start: exits non-zero instead of hanging', async () => {
      redis = await new TestRedis().start();
      redis.pause();
      const r = await startGatewayProcess({ CACHE_STORE_URL: redis.url(), STORE_CONNECT_TIMEOUT_MS: '1000' });
      expect(r.timedOut, r.stderr).to.equal(false);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain(`127.0.0.1:${redis.port}`);
    });
  });
});
