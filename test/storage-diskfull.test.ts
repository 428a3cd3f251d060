import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, startTestGateway, tempDir } from './helpers/gateway.js';

/**
 * A real full disk: DATA_DIR on a small tmpfs (needs mount rights, i.e. root; skipped with a
 * message otherwise), filled with a filler file until the store's writes fail with ENOSPC.
 */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

describe('a full disk under the embedded store (tmpfs)', function () {
  this.timeout(180_000);
  let dir: string;
  let upstream: FakeOpenAI;
  before(async function () {
    // In-process, a native abort inside lmdb's writer at ENOSPC (seen in about 1 run of 4 here:
    // "malloc(): invalid next size") takes the whole mocha run down with it. Until that is fixed
    // this test runs on request; `make fuzz` covers the full disk with the gateway in a child process.
    if (process.env.FAULT_TESTS !== '1') {
      console.log('      (skipped: set FAULT_TESTS=1 to run the in-process disk-full test; make fuzz runs the disk-full fault)');
      this.skip();
    }
    dir = tempDir('gw-diskfull-');
    if (!mountTmpfs(dir, '24m')) {
      console.log('      (skipped: mounting a tmpfs needs root; the disk-full test runs where it can)');
      this.skip();
    }
    upstream = await new FakeOpenAI().start();
  });
  after(async () => {
    await upstream?.stop();
    if (dir) {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        /* not mounted */
      }
    }
  });

  it('answers uncached, reports degraded while writes fail, recovers by itself, and loses nothing acknowledged', async () => {
    const env = { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dir, ADMIN_API_KEY: 'admin-secret' };
    const ask = (gw: Gateway, i: number) => chat(gw, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Disk question ${i}: tell me about planet ${i}` }] });
    const health = async (gw: Gateway) => (await fetch(`${gw.url}/health`)).json() as Promise<{ status: string; reason?: string }>;
    let gw = await startTestGateway(env);
    const acknowledged: number[] = [];
    let degradedAt = -1;
    try {
      for (let i = 0; i < 5; i++) {
        expect((await ask(gw, i)).status).to.equal(200);
        expect((await ask(gw, i)).headers.get('x-cache-status')).to.equal('hit');
        acknowledged.push(i);
      }
      // Fill the disk, leaving a little room so the first failure comes from a store write.
      const filler = path.join(dir, 'filler');
      fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(dir) - 64 * 1024)));
      for (let i = 5; i < 300 && degradedAt < 0; i++) {
        const r = await ask(gw, i);
        expect(r.status, 'answered while the disk is full').to.equal(200);
        expect(r.json.choices[0].message.content).to.be.a('string');
        if ((await health(gw)).status === 'degraded') degradedAt = i;
        else if ((await ask(gw, i)).headers.get('x-cache-status') === 'hit') acknowledged.push(i);
      }
      expect(degradedAt, 'the store reported the full disk').to.be.greaterThan(4);
      const h = await health(gw);
      expect(h.reason).to.match(/store write failing: (No space left on device|Input\/output error)/);
      const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: "Bearer admin-secret" } })).text();
      expect(metrics).to.match(/gateway_store_failures_total\{op="write"\} [1-9]/);
      expect(metrics).to.match(/gateway_store_degraded 1/);
      // Still served while full: a miss is forwarded and answered, not cached.
      const whileFull = await ask(gw, 1000);
      expect(whileFull.status).to.equal(200);
      expect(whileFull.headers.get('x-cache-status')).to.equal('miss');
      // Space comes back: writes succeed and the store is healthy again without a restart (once
      // writes have kept succeeding for StoreHealth's hold time, 5 s).
      fs.rmSync(filler);
      expect((await ask(gw, 2000)).status).to.equal(200);
      expect((await ask(gw, 2000)).headers.get('x-cache-status')).to.equal('hit');
      acknowledged.push(2000);
      let status = 'degraded';
      for (let i = 2001; i < 2040 && status !== 'ok'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        expect((await ask(gw, i)).status).to.equal(200);
        status = (await health(gw)).status;
      }
      expect(status).to.equal('ok');
    } finally {
      await gw.close();
    }

    // After a restart every acknowledged entry is still there.
    gw = await startTestGateway(env);
    try {
      const calls = upstream.calls.length;
      for (const i of acknowledged) expect((await ask(gw, i)).headers.get('x-cache-status'), `entry ${i}`).to.equal('hit');
      expect(upstream.calls.length).to.equal(calls);
    } finally {
      await gw.close();
    }
  });
});
