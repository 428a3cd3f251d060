import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import OpenAI from 'openai';
import { stringify as toYaml } from 'yaml';
import { loadRoutingConfig, RoutingConfigError } from '../src/routing/config-file.js';
import { backoffDelay } from '../src/routing/router.js';
import { weightedOrder } from '../src/routing/weighted-order.js';
import type { Gateway } from '../src/server.js';
import { FakeAnthropic } from './helpers/fake-anthropic.js';
import { FakeOpenAI, sleep } from './helpers/fake-openai.js';
import { chat, parseSseBody, startTestGateway, tempDir } from './helpers/gateway.js';

const KEY_ENV = 'ROUTING_TEST_ANTHROPIC_KEY';
const NO_STORE = { 'cache-control': 'no-store' };

function writeConfig(doc: unknown, ext = 'yaml'): string {
  const file = path.join(tempDir('gw-routing-'), `gateway.${ext}`);
  fs.writeFileSync(file, ext === 'json' ? JSON.stringify(doc) : toYaml(doc));
  return file;
}

/** A port that refuses connections: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const ask = (model: string, content: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });

describe('routing: aliases, providers, fallback, circuit breaker (real upstream servers)', () => {
  let openai: FakeOpenAI;
  let backup: FakeOpenAI;
  let anthropic: FakeAnthropic;

  before(async () => {
    openai = await new FakeOpenAI().start();
    backup = await new FakeOpenAI().start();
    anthropic = await new FakeAnthropic('anthropic-test-key').start();
  });
  after(async () => {
    await openai?.stop();
    await backup?.stop();
    await anthropic?.stop();
  });
  beforeEach(() => {
    openai.reset();
    backup.reset();
    anthropic.reset();
  });

  const anthropicTarget = () => ({ provider: 'anthropic', base_url: anthropic.url, model: 'claude-sonnet-4-5', api_key_env: KEY_ENV });
  const openaiTarget = (server: FakeOpenAI, model = 'gpt-4o-mini', extra: Record<string, unknown> = {}) => ({ provider: 'openai-compatible', base_url: server.url, model, ...extra });

  async function gatewayWith(doc: Record<string, unknown>, env: Record<string, string> = {}): Promise<Gateway> {
    // The provider key reaches the gateway as an environment variable named by api_key_env.
    return startTestGateway({ GATEWAY_CONFIG: writeConfig({ retry: { attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }, ...doc }), [KEY_ENV]: 'anthropic-test-key', ...env });
  }

  describe('aliases and translation', () => {
    let gw: Gateway;
    before(async () => {
      gw = await gatewayWith({ models: { fast: [openaiTarget(openai, 'gpt-4o-mini')], smart: { targets: [anthropicTarget()] } } });
    });
    after(async () => gw?.close());

    it('sends an alias to its target under the upstream model name and names the target in headers', async () => {
      const res = await chat(gw, ask('fast', 'Name three primary colours'));
      expect(res.status).to.equal(200);
      expect(openai.calls).to.have.length(1);
      expect(openai.calls[0]!.body.model).to.equal('gpt-4o-mini');
      expect(anthropic.calls).to.have.length(0);
      expect(res.headers.get('x-gateway-provider')).to.equal('openai-compatible');
      expect(res.headers.get('x-gateway-model')).to.equal('gpt-4o-mini');
    });

    it('caches under the alias: the same prompt to the same alias is a hit', async () => {
      await chat(gw, ask('fast', 'What is the boiling point of water at sea level?'));
      const again = await chat(gw, ask('fast', 'What is the boiling point of water at sea level?'));
      expect(again.headers.get('x-cache-status')).to.equal('hit');
      const otherAlias = await chat(gw, ask('smart', 'What is the boiling point of water at sea level?'));
      expect(otherAlias.headers.get('x-cache-status')).to.equal('miss');
    });

    it('answers 404 model_not_found in OpenAI shape for an unknown alias', async () => {
      const res = await chat(gw, ask('gpt-unknown', 'hello there'));
      expect(res.status).to.equal(404);
      expect(res.json.error.code).to.equal('model_not_found');
      expect(res.json.error.message).to.contain('fast').and.contain('smart');
      expect(openai.calls.length + anthropic.calls.length).to.equal(0);
    });

    it('lists the aliases on GET /v1/models', async () => {
      const res = await fetch(`${gw.url}/v1/models`);
      const body = (await res.json()) as { data: Array<{ id: string }> };
      expect(res.status).to.equal(200);
      expect(body.data.map((m) => m.id).sort()).to.deep.equal(['fast', 'smart']);
    });

    it('translates chat.completions to Anthropic messages (system, max_tokens, key from the env variable) and back', async () => {
      const res = await chat(gw, {
        model: 'smart',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Tell me about otters' },
        ],
        max_tokens: 64,
        temperature: 0.2,
      });
      expect(res.status).to.equal(200);
      const sent = anthropic.calls[0]!;
      expect(sent.headers['x-api-key']).to.equal('anthropic-test-key');
      expect(sent.headers['anthropic-version']).to.be.a('string');
      expect(sent.headers.authorization).to.equal(undefined);
      expect(sent.body.model).to.equal('claude-sonnet-4-5');
      expect(sent.body.system).to.equal('You are terse.');
      expect(sent.body.max_tokens).to.equal(64);
      expect(sent.body.messages).to.deep.equal([{ role: 'user', content: 'Tell me about otters' }]);
      expect(res.json.object).to.equal('chat.completion');
      expect(res.json.choices[0].message).to.include({ role: 'assistant', content: 'Claude says: Tell me about otters' });
      expect(res.json.choices[0].finish_reason).to.equal('stop');
      expect(res.json.usage.prompt_tokens).to.be.greaterThan(0);
      expect(res.json.usage.total_tokens).to.equal(res.json.usage.prompt_tokens + res.json.usage.completion_tokens);
      expect(res.headers.get('x-gateway-provider')).to.equal('anthropic');
      expect(res.headers.get('x-gateway-model')).to.equal('claude-sonnet-4-5');
    });

    it('maps tools to Anthropic and a tool_use answer back to tool_calls', async () => {
      anthropic.behavior = { toolUse: { name: 'get_weather', input: { city: 'Oslo' } } };
      const res = await chat(
        gw,
        ask('smart', 'What is the weather in Oslo?', {
          tools: [{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        }),
      );
      expect(res.status).to.equal(200);
      const tools = anthropic.calls[0]!.body.tools as Array<{ name: string; input_schema: unknown }>;
      expect(tools[0]!.name).to.equal('get_weather');
      expect(tools[0]!.input_schema).to.deep.include({ type: 'object' });
      expect(res.json.choices[0].finish_reason).to.equal('tool_calls');
      expect(res.json.choices[0].message.content).to.equal(null);
      expect(res.json.choices[0].message.tool_calls[0].function).to.deep.equal({ name: 'get_weather', arguments: '{"city":"Oslo"}' });
    });

    it('streams an Anthropic answer to the client as OpenAI chunks (read by the OpenAI SDK), usage included on request', async () => {
      anthropic.behavior = { charsPerDelta: 3 };
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'smart',
        messages: [{ role: 'user', content: 'Describe a streaming river' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) text += chunk.choices[0].delta.content;
        if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(anthropic.calls[0]!.body.stream).to.equal(true);
      expect(text).to.equal('Claude says: Describe a streaming river');
      expect(finish).to.equal('stop');
      expect(usage!.completion_tokens).to.be.greaterThan(0);
    });
  });

  describe('fallback', () => {
    it('retries a 500 with backoff, then falls back to the next target, which may be another provider', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai), anthropicTarget()] } });
      try {
        openai.behavior = { failStatus: 500 };
        const res = await chat(gw, ask('chat', 'Explain fallback routing'), NO_STORE);
        expect(res.status).to.equal(200);
        expect(openai.calls).to.have.length(2); // retry.attempts
        expect(anthropic.calls).to.have.length(1);
        expect(res.headers.get('x-gateway-provider')).to.equal('anthropic');
        expect(res.json.choices[0].message.content).to.equal('Claude says: Explain fallback routing');
      } finally {
        await gw.close();
      }
    });

    it('a retry that succeeds stays on the same target', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai), openaiTarget(backup)] } });
      try {
        openai.queue.push({ failStatus: 503 });
        const res = await chat(gw, ask('chat', 'One retry is enough'), NO_STORE);
        expect(res.status).to.equal(200);
        expect(openai.calls).to.have.length(2);
        expect(backup.calls).to.have.length(0);
      } finally {
        await gw.close();
      }
    });

    it('falls back when a target times out (timeout_ms per target)', async () => {
      const gw = await gatewayWith({ retry: { attempts: 1 }, models: { chat: [openaiTarget(openai, 'gpt-4o-mini', { timeout_ms: 50 }), openaiTarget(backup)] } });
      try {
        openai.behavior = { latencyMs: 1000 };
        const res = await chat(gw, ask('chat', 'Slow upstream question'), NO_STORE);
        expect(res.status).to.equal(200);
        expect(openai.calls).to.have.length(1);
        expect(backup.calls).to.have.length(1);
      } finally {
        await gw.close();
      }
    });

    it('falls back when a target refuses connections', async () => {
      const port = await closedPort();
      const gw = await gatewayWith({ models: { chat: [{ provider: 'openai-compatible', base_url: `http://127.0.0.1:${port}/v1`, model: 'm' }, openaiTarget(backup)] } });
      try {
        const res = await chat(gw, ask('chat', 'Nobody listens there'), NO_STORE);
        expect(res.status).to.equal(200);
        expect(res.headers.get('x-gateway-model')).to.equal('gpt-4o-mini');
        expect(backup.calls).to.have.length(1);
      } finally {
        await gw.close();
      }
    });

    it('moves on at once when a 429 asks for a longer pause than the backoff allows', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai), openaiTarget(backup)] } });
      try {
        openai.behavior = { failStatus: 429 }; // with retry-after: 7
        const res = await chat(gw, ask('chat', 'Rate limited upstream'), NO_STORE);
        expect(res.status).to.equal(200);
        expect(openai.calls).to.have.length(1);
        expect(backup.calls).to.have.length(1);
      } finally {
        await gw.close();
      }
    });

    it('does not fall back on a client error (400): every target would refuse it', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai), openaiTarget(backup)] } });
      try {
        openai.behavior = { failStatus: 400 };
        const res = await chat(gw, ask('chat', 'A bad request'), NO_STORE);
        expect(res.status).to.equal(400);
        expect(openai.calls).to.have.length(1);
        expect(backup.calls).to.have.length(0);
      } finally {
        await gw.close();
      }
    });

    it('falls back without a retry on 401/403/404/408 from a target, but not on 400/422; 401/403/404 do not trip the breaker', async () => {
      const gw = await gatewayWith({
        circuit_breaker: { failures: 1, cooldown_ms: 60_000 },
        models: { chat: [openaiTarget(openai), openaiTarget(backup)] },
      });
      try {
        let n = 0;
        for (const status of [401, 403, 404, 401]) {
          openai.reset();
          backup.reset();
          openai.behavior = { failStatus: status };
          const res = await chat(gw, ask('chat', `Wrong key or model ${n++}`), NO_STORE);
          expect(res.status, `after a ${status}`).to.equal(200);
          expect(openai.calls, `after a ${status}`).to.have.length(1); // tried again each time: its circuit stays closed
          expect(backup.calls).to.have.length(1);
        }
        for (const status of [400, 422]) {
          openai.reset();
          backup.reset();
          openai.behavior = { failStatus: status };
          const res = await chat(gw, ask('chat', `A bad request ${status}`), NO_STORE);
          expect(res.status).to.equal(status);
          expect(openai.calls).to.have.length(1);
          expect(backup.calls).to.have.length(0);
        }
        openai.reset();
        backup.reset();
        openai.behavior = { failStatus: 408 };
        expect((await chat(gw, ask('chat', 'Upstream timed out the request'), NO_STORE)).status).to.equal(200);
        expect(openai.calls).to.have.length(1);
        expect(backup.calls).to.have.length(1);
        // A 408 is a timeout, so it does count: with failures: 1 the primary is now skipped.
        expect((await chat(gw, ask('chat', 'While the primary cools down'), NO_STORE)).status).to.equal(200);
        expect(openai.calls).to.have.length(1);
        expect(backup.calls).to.have.length(2);
      } finally {
        await gw.close();
      }
    });

    it('returns the last target\'s 401 when every target refuses the key', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai), openaiTarget(backup)] } });
      try {
        openai.behavior = { failStatus: 401 };
        backup.behavior = { failStatus: 401 };
        const res = await chat(gw, ask('chat', 'No valid key anywhere'), NO_STORE);
        expect(res.status).to.equal(401);
        expect(openai.calls).to.have.length(1);
        expect(backup.calls).to.have.length(1);
      } finally {
        await gw.close();
      }
    });

    it('returns the last failure when every target fails', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai), openaiTarget(backup)] } });
      try {
        openai.behavior = { failStatus: 500 };
        backup.behavior = { failStatus: 502 };
        const res = await chat(gw, ask('chat', 'Everything is down'), NO_STORE);
        expect(res.status).to.equal(502);
        expect(res.json.error).to.be.an('object');
        expect(openai.calls.length + backup.calls.length).to.equal(4);
      } finally {
        await gw.close();
      }
    });

    it('never falls back once the first chunk of a stream reached the client', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai), anthropicTarget()] } });
      try {
        openai.behavior = { abortAfterChunks: 2, chunkDelayMs: 20 };
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...NO_STORE },
          body: JSON.stringify(ask('chat', 'a b c d e f g h', { stream: true })),
        });
        expect(res.status).to.equal(200);
        let text = '';
        const decoder = new TextDecoder();
        try {
          for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(part, { stream: true });
        } catch {
          // the gateway cuts the connection: the only honest signal once chunks went out
        }
        expect(text).to.contain('"content":"Answer "');
        expect(text).to.not.contain('[DONE]');
        expect(openai.calls).to.have.length(1);
        expect(anthropic.calls).to.have.length(0);
      } finally {
        await gw.close();
      }
    });

    it('does fall back for a stream that failed before its first chunk', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai), anthropicTarget()] } });
      try {
        openai.behavior = { failStatus: 500 };
        const res = await chat(gw, ask('chat', 'stream me please', { stream: true }), NO_STORE);
        expect(res.status).to.equal(200);
        const events = parseSseBody(res.text);
        expect(events[events.length - 1]).to.equal('[DONE]');
        const text = events.filter((e) => e !== '[DONE]').map((e) => e.choices[0]?.delta?.content ?? '').join('');
        expect(text).to.equal('Claude says: stream me please');
      } finally {
        await gw.close();
      }
    });
  });

  describe('load balancing', () => {
    it('orders by priority, and by weight within a priority', () => {
      const targets = [
        { name: 'a', weight: 1, priority: 0 },
        { name: 'b', weight: 3, priority: 0 },
        { name: 'c', weight: 100, priority: 1 },
      ];
      // random() * total(4): 0.1 -> 0.4 falls in a's share [0,1); 0.5 -> 2 falls in b's [1,4).
      expect(weightedOrder(targets, () => 0.1).map((t) => t.name)).to.deep.equal(['a', 'b', 'c']);
      expect(weightedOrder(targets, () => 0.5).map((t) => t.name)).to.deep.equal(['b', 'a', 'c']);
    });

    it('spreads traffic over same-priority targets through the gateway', async () => {
      const gw = await gatewayWith({ models: { chat: [openaiTarget(openai, 'm', { priority: 0 }), openaiTarget(backup, 'm', { priority: 0 })] } });
      try {
        for (let i = 0; i < 40; i++) await chat(gw, ask('chat', `question number ${i}`), NO_STORE);
        // Each call picks either with p = 1/2: both stay unused with probability 2^-39.
        expect(openai.calls.length).to.be.greaterThan(0);
        expect(backup.calls.length).to.be.greaterThan(0);
        expect(openai.calls.length + backup.calls.length).to.equal(40);
      } finally {
        await gw.close();
      }
    });

    it('backs off exponentially with jitter, capped', () => {
      const retry = { attempts: 5, backoffMs: 100, maxBackoffMs: 1000 };
      expect(backoffDelay(retry, 1, () => 0)).to.equal(50);
      expect(backoffDelay(retry, 1, () => 1)).to.equal(100);
      expect(backoffDelay(retry, 3, () => 0)).to.equal(200);
      expect(backoffDelay(retry, 10, () => 1)).to.equal(1000);
    });
  });

  describe('circuit breaker', () => {
    it('skips a target that keeps failing for the cool-down, then tries it again', async () => {
      const gw = await gatewayWith({
        retry: { attempts: 1, backoff_ms: 1, max_backoff_ms: 1 },
        circuit_breaker: { failures: 2, cooldown_ms: 200 },
        models: { chat: [openaiTarget(openai), openaiTarget(backup)] },
      });
      try {
        openai.behavior = { failStatus: 500 };
        for (let i = 0; i < 2; i++) expect((await chat(gw, ask('chat', `failing ${i}`), NO_STORE)).status).to.equal(200);
        expect(openai.calls).to.have.length(2);
        // Open: the primary is not called at all.
        for (let i = 0; i < 3; i++) expect((await chat(gw, ask('chat', `skipped ${i}`), NO_STORE)).status).to.equal(200);
        expect(openai.calls).to.have.length(2);
        expect(backup.calls).to.have.length(5);

        await sleep(300);
        openai.behavior = {};
        const res = await chat(gw, ask('chat', 'after the cool-down'), NO_STORE);
        expect(res.status).to.equal(200);
        expect(openai.calls).to.have.length(3);
        expect(backup.calls).to.have.length(5);
      } finally {
        await gw.close();
      }
    });

    it('answers 503 with Retry-After while every target of the alias is cooling down', async () => {
      const gw = await gatewayWith({
        retry: { attempts: 1, backoff_ms: 1, max_backoff_ms: 1 },
        circuit_breaker: { failures: 1, cooldown_ms: 60_000 },
        models: { chat: [openaiTarget(openai)] },
      });
      try {
        openai.behavior = { failStatus: 500 };
        expect((await chat(gw, ask('chat', 'first failure'), NO_STORE)).status).to.equal(500);
        const res = await chat(gw, ask('chat', 'while open'), NO_STORE);
        expect(res.status).to.equal(503);
        expect(res.json.error.code).to.equal('targets_unavailable');
        expect(Number(res.headers.get('retry-after'))).to.be.within(1, 60);
        expect(openai.calls).to.have.length(1);
      } finally {
        await gw.close();
      }
    });
  });

  describe('config validation', () => {
    const load = (doc: unknown, ext = 'yaml', env: Record<string, string> = {}) => loadRoutingConfig(writeConfig(doc, ext), env, 1000);
    const problem = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        expect(err).to.be.instanceOf(RoutingConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a RoutingConfigError');
    };

    it('accepts JSON and YAML, with defaults for weight, priority, timeout and retry', () => {
      const doc = { models: { a: [{ provider: 'openai', base_url: 'https://api.openai.com/v1/', model: 'gpt-4o', api_key_env: 'K' }] } };
      for (const ext of ['json', 'yaml']) {
        const cfg = load(doc, ext, { K: 'secret-value' });
        expect(cfg.models.get('a')).to.deep.equal([
          { provider: 'openai', baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o', apiKey: 'secret-value', weight: 1, priority: 0, timeoutMs: 1000 },
        ]);
        expect(cfg.retry).to.deep.equal({ attempts: 2, backoffMs: 200, maxBackoffMs: 2000 });
        expect(cfg.breaker).to.deep.equal({ failures: 5, cooldownMs: 30_000 });
      }
    });

    it('names the file, the path and the problem', () => {
      const msg = problem(() => load({ models: { a: [{ provider: 'bedrock', base_url: 'not a url', model: 'x' }] } }));
      expect(msg).to.contain('gateway.yaml');
      expect(msg).to.match(/models\.a\.targets\.0\.provider: provider must be one of: openai, openai-compatible, anthropic/);
      expect(msg).to.match(/models\.a\.targets\.0\.base_url: base_url must be an http\(s\) URL/);
    });

    it('refuses a key written into the file, without echoing it', () => {
      const msg = problem(() => load({ models: { a: [{ provider: 'openai', base_url: 'https://x.test/v1', model: 'x', api_key: 'sk-live-do-not-leak-1234567890' }] } }));
      expect(msg).to.contain('models.a.targets.0.api_key: keys never go in the file');
      expect(msg).to.not.contain('do-not-leak');
    });

    it('refuses an api_key_env whose variable is not set', () => {
      const msg = problem(() => load({ models: { a: [{ provider: 'openai', base_url: 'https://x.test/v1', model: 'x', api_key_env: 'NOT_SET_ANYWHERE' }] } }));
      expect(msg).to.contain('models.a.targets.0.api_key_env: environment variable NOT_SET_ANYWHERE is not set');
    });

    it('refuses unknown fields, empty aliases and bad retry settings', () => {
      const msg = problem(() => load({ modles: {}, models: { a: [] }, retry: { attempts: 0 } }));
      expect(msg).to.match(/\(root\): Unrecognized key.*modles/);
      expect(msg).to.contain('models.a.targets: an alias needs at least one target');
      expect(msg).to.match(/retry\.attempts: /);
    });

    it('reports a file that does not parse, or does not exist', () => {
      const file = path.join(tempDir('gw-routing-'), 'broken.yaml');
      fs.writeFileSync(file, 'models: [unclosed');
      expect(problem(() => loadRoutingConfig(file, {}, 1000))).to.contain(`routing config ${file} does not parse`);
      expect(problem(() => loadRoutingConfig('/nonexistent/gw.yaml', {}, 1000))).to.contain('cannot read routing config /nonexistent/gw.yaml (GATEWAY_CONFIG): ENOENT');
    });

    it('stops the gateway from starting on an invalid file', async () => {
      let error: unknown;
      try {
        const gw = await startTestGateway({ GATEWAY_CONFIG: writeConfig({ models: { a: [{ provider: 'openai', model: 'x' }] } }) });
        await gw.close();
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(RoutingConfigError);
      expect((error as Error).message).to.contain('models.a.targets.0.base_url');
    });
  });
});
