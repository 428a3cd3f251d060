import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, tempDir } from './helpers/gateway.js';

/** Starts the real entry point (src/main.ts) in a child process and waits for its "listening" line. */
async function spawnGateway(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += String(d);
      const m = /"url":"(http:\/\/[^"]+)"/.exec(buf);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${stderr}`)));
  });
  return { child, url };
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('crash safety (the real entry point, killed with SIGKILL)', () => {
  let upstream: FakeOpenAI;
  before(async () => {
    upstream = await new FakeOpenAI().start();
  });
  after(async () => upstream?.stop());

  it('loses no answered entry and rebuilds the index that was never saved', async () => {
    const dataDir = tempDir('gw-crash-');
    const env = { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir };
    const prompts = ['What is the tallest mountain in Africa?', 'How do vaccines train the immune system?', 'Why is the sky blue during the day?'];
    let gw = await spawnGateway(env);
    for (const p of prompts) {
      const r = await chat(gw, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: p }] });
      expect(r.headers.get('x-cache-status')).to.equal('miss');
    }
    // Killed before the debounced index save: only the store has the entries.
    await kill9(gw.child);
    expect(fs.existsSync(path.join(dataDir, 'store.mdb.gateway-lock'))).to.equal(true);

    gw = await spawnGateway(env);
    try {
      for (const p of prompts) {
        const exact = await chat(gw, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: p }] });
        expect(exact.headers.get('x-cache-status')).to.equal('hit');
        const para = await chat(gw, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: p.toLowerCase().replace('?', '') }] });
        expect(para.headers.get('x-cache-status')).to.be.oneOf(['hit', 'semantic-hit']);
      }
      expect(upstream.calls).to.have.length(3);
    } finally {
      await kill9(gw.child);
    }
  });

  it('lets the keys CLI create and revoke keys while the gateway runs on the embedded store', async () => {
    const dataDir = tempDir('gw-cli-');
    const env = { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir, REQUIRE_API_KEY: 'true' };
    const gw = await spawnGateway(env);
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/keys.ts', ...args], {
        env: { ...process.env, ...env, CACHE_STORE_URL: '', LOG_LEVEL: 'silent' },
      });
    try {
      const key = /sk-gw-[A-Za-z0-9_-]+/.exec((await cli('create', '--name', 'live')).stdout)?.[0];
      expect(key).to.be.a('string');
      const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Which key am I?' }] };
      expect((await chat(gw, body, { authorization: `Bearer ${key}` })).status).to.equal(200);
      await cli('revoke', 'live');
      expect((await chat(gw, body, { authorization: `Bearer ${key}` })).status).to.equal(401);
    } finally {
      await kill9(gw.child);
    }
  });

  it('refuses to share a DATA_DIR with a running gateway', async () => {
    const dataDir = tempDir('gw-lock-');
    const env = { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir };
    const gw = await spawnGateway(env);
    try {
      const err = await spawnGateway(env).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.match(/in use by process/);
    } finally {
      await kill9(gw.child);
    }
  });
});
