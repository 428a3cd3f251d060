import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, startTestGateway, testConfig } from './helpers/gateway.js';

describe('gateway keys over the admin HTTP API (a running gateway on the embedded store)', () => {
  let upstream: FakeOpenAI;
  let gw: Gateway;
  let dataDir: string;
  const admin = { authorization: 'Bearer the-admin-key', 'content-type': 'application/json' };

  before(async () => {
    upstream = await new FakeOpenAI().start();
    const config = testConfig({ UPSTREAM_BASE_URL: upstream.url, UPSTREAM_API_KEY: 'sk-upstream-secret', ADMIN_API_KEY: 'the-admin-key', REQUIRE_API_KEY: 'true' });
    dataDir = config.dataDir;
    gw = await startTestGateway({}, config);
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  it('creates, lists, uses and revokes a key without a restart', async () => {
    const noAdmin = await fetch(`${gw.url}/v1/gateway/keys`, { method: 'POST', body: JSON.stringify({ name: 'x' }) });
    expect(noAdmin.status).to.equal(401);
    const bad = await fetch(`${gw.url}/v1/gateway/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'app', rpm: -1 }) });
    expect(bad.status).to.equal(400);

    const created = await fetch(`${gw.url}/v1/gateway/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'app1', rpm: 100 }) });
    expect(created.status).to.equal(201);
    const { key, record } = (await created.json()) as { key: string; record: { id: string; limits: { rpm: number } } };
    expect(key).to.match(/^sk-gw-/);
    expect(record.limits.rpm).to.equal(100);

    const list = (await (await fetch(`${gw.url}/v1/gateway/keys`, { headers: admin })).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((r) => r.id)).to.include(record.id);
    expect(JSON.stringify(list)).to.not.include(key);

    expect((await chat(gw, { model: 'm', messages: [{ role: 'user', content: 'hello without key' }] })).status).to.equal(401);
    const ok = await chat(gw, { model: 'm', messages: [{ role: 'user', content: 'hello with key' }] }, { authorization: `Bearer ${key}` });
    expect(ok.status).to.equal(200);
    // The upstream gets the configured provider key, never the gateway key.
    expect(upstream.calls.at(-1)!.headers.authorization).to.equal('Bearer sk-upstream-secret');

    // Passthrough endpoints follow the same rules: key required, swapped for the provider key.
    const emb = (authorization?: string) =>
      fetch(`${gw.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ model: 'e', input: 'x' }) });
    expect((await emb()).status).to.equal(401);
    expect((await emb(`Bearer ${key}`)).status).to.equal(200);
    expect(upstream.calls.at(-1)!.headers.authorization).to.equal('Bearer sk-upstream-secret');

    const revoked = await fetch(`${gw.url}/v1/gateway/keys/app1`, { method: 'DELETE', headers: admin });
    expect(revoked.status).to.equal(200);
    expect((await chat(gw, { model: 'm', messages: [{ role: 'user', content: 'hello with key' }] }, { authorization: `Bearer ${key}` })).status).to.equal(401);
    expect((await fetch(`${gw.url}/v1/gateway/keys/app1`, { method: 'DELETE', headers: admin })).status).to.equal(404);

    // Neither the gateway key nor the provider key is written to the store.
    const store = fs.readFileSync(path.join(dataDir, 'store.mdb'), 'latin1');
    expect(store).to.not.include(key);
    expect(store).to.not.include('sk-upstream-secret');
  });
});
