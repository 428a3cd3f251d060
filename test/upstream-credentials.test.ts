import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { GatewayKeyStore } from '../src/policy/api-keys.js';
import { startGateway } from '../src/server.js';
import { openKvStores } from '../src/store/kv.js';
import { FakeAnthropic } from './helpers/fake-anthropic.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, defaultEmbedder, startTestGateway, tempDir, testConfig } from './helpers/gateway.js';

function memoryLogger(lines: string[]): winston.Logger {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
}

describe('upstream credentials (real gateway, real upstream servers)', () => {
  let openai: FakeOpenAI;
  let anthropic: FakeAnthropic;
  before(async () => {
    openai = await new FakeOpenAI().start();
    anthropic = await new FakeAnthropic('sk-ant-client-own-key').start();
  });
  after(async () => {
    await openai?.stop();
    await anthropic?.stop();
  });

  async function startWithKey(env: Record<string, string>): Promise<{ logs: string[]; key: string; close: () => Promise<void>; url: string }> {
    const dataDir = tempDir();
    const kv = await openKvStores(undefined, dataDir);
    const { key } = await new GatewayKeyStore(kv).create({ name: 'app1' });
    await kv.close();
    const logs: string[] = [];
    const gw = await startGateway(testConfig({ UPSTREAM_BASE_URL: openai.url, DATA_DIR: dataDir, ...env }), { embedder: await defaultEmbedder(), logger: memoryLogger(logs) });
    return { logs, key, close: () => gw.close(), url: gw.url };
  }

  it('warns at start when gateway keys exist and the upstream has no key of its own', async () => {
    const gw = await startWithKey({});
    try {
      const warning = gw.logs.find((l) => l.includes('"event":"upstream_credentials"'));
      expect(warning, gw.logs.join('')).to.not.equal(undefined);
      expect(JSON.parse(warning!).level).to.equal('warn');
      expect(warning).to.contain('UPSTREAM_BASE_URL').and.not.contain(gw.key);
      // What it warns about: a request made with the gateway key reaches the upstream bare.
      openai.reset();
      await chat(gw, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] }, { authorization: `Bearer ${gw.key}` });
      expect(openai.calls[0]!.headers.authorization).to.equal(undefined);
    } finally {
      await gw.close();
    }
    const keyed = await startWithKey({ UPSTREAM_API_KEY: 'sk-provider-key' });
    try {
      expect(keyed.logs.some((l) => l.includes('upstream_credentials'))).to.equal(false);
    } finally {
      await keyed.close();
    }
  });

  it("sends a client's Bearer token to an Anthropic target without api_key_env as x-api-key", async () => {
    const file = path.join(tempDir('gw-cred-'), 'gateway.json');
    fs.writeFileSync(file, JSON.stringify({ models: { claude: { targets: [{ provider: 'anthropic', base_url: anthropic.url, model: 'claude-sonnet-4-5' }] } } }));
    const gw = await startTestGateway({ GATEWAY_CONFIG: file });
    try {
      anthropic.reset();
      const res = await chat(gw, { model: 'claude', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer sk-ant-client-own-key' });
      expect(res.status, res.text).to.equal(200);
      expect(anthropic.calls[0]!.headers['x-api-key']).to.equal('sk-ant-client-own-key');
      expect(anthropic.calls[0]!.headers.authorization).to.equal(undefined);
    } finally {
      await gw.close();
    }
  });
});
