import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Gateway } from '../src/server.js';
import { DiskReserve } from '../src/store/disk-reserve.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, startTestGateway, tempDir } from './helpers/gateway.js';

/**
 * A real full disk: DATA_DIR on a small tmpfs, filled with a filler file. Mounting needs root; a
 * user without it runs this file again inside a user and mount namespace of its own (`unshare -Urm`,
 * where it may mount a tmpfs), and the test is skipped with a message only where neither works.
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

const IN_NAMESPACE = process.env.SEMCACHE_DISKFULL_IN_NAMESPACE === '1';

describe('the store keeps a free-space reserve (DiskReserve)', () => {
  it('refuses writes that would leave less than the reserve, with ENOSPC, and admits them again when space returns', () => {
    let t = 0;
    let free = 10 * 1024 * 1024;
    let calls = 0;
    const reserve = new DiskReserve('/data', 4 * 1024 * 1024, () => t, 100, () => {
      calls++;
      return { bavail: free / 4096, bsize: 4096 };
    });
    reserve.admit(1000);
    expect(calls).to.equal(1);
    // Within the cache window the bytes admitted since the last statfs count against the reserve:
    // 4.5 MB free, 4 MB kept, so a 300 KB value (about 2x that with the pages it dirties) is refused.
    free = 4.5 * 1024 * 1024;
    t += 100;
    reserve.admit(1000);
    expect(calls).to.equal(2);
    expect(() => reserve.admit(300 * 1024)).to.throw(/No space left on device.*STORE_MIN_FREE_MB/);
    expect(calls, 'no statfs inside the window').to.equal(2);
    expect(() => reserve.admit(1000)).not.to.throw();
    free = 3 * 1024 * 1024;
    t += 100;
    let err: NodeJS.ErrnoException | undefined;
    try {
      reserve.admit(10);
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err?.code).to.equal('ENOSPC');
    free = 100 * 1024 * 1024;
    t += 100;
    expect(() => reserve.admit(10)).not.to.throw();
  });

  it('does not block writes when the file system cannot be asked, nor when the reserve is 0', () => {
    const broken = new DiskReserve('/nowhere', 4 * 1024 * 1024, Date.now, 100, () => {
      throw new Error('ENOENT');
    });
    expect(() => broken.admit(1000)).not.to.throw();
    const off = new DiskReserve('/data', 0, Date.now, 100, () => ({ bavail: 0, bsize: 4096 }));
    expect(() => off.admit(1000)).not.to.throw();
  });
});

describe('a full disk under the embedded store (tmpfs)', function () {
  this.timeout(180_000);
  let dir: string;
  let upstream: FakeOpenAI;
  let mounted = false;
  before(async () => {
    dir = tempDir('gw-diskfull-');
    mounted = mountTmpfs(dir, '24m');
    if (mounted) upstream = await new FakeOpenAI().start();
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

  it('without mount rights: runs this file in a user and mount namespace of its own', function () {
    if (mounted || IN_NAMESPACE) this.skip();
    const probe = spawnSync('unshare', ['-Urm', 'true'], { stdio: 'ignore' });
    if (probe.status !== 0) {
      console.log('      (skipped: no mount rights and no user namespaces (unshare -Urm); the disk-full test runs where either works)');
      this.skip();
    }
    const mocha = path.resolve('node_modules/.bin/mocha');
    const r = spawnSync('unshare', ['-Urm', mocha, '--no-config', '--node-option', 'import=tsx', '--timeout', '180000', '--exit', 'test/storage-diskfull.test.ts'], {
      env: { ...process.env, SEMCACHE_DISKFULL_IN_NAMESPACE: '1' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(/✔ answers uncached, reports degraded/);
  });

  it('answers uncached, reports degraded while writes fail, recovers by itself, and loses nothing acknowledged', async function () {
    if (!mounted) {
      console.log('      (no mount rights here: the test above runs this one in a namespace)');
      this.skip();
    }
    // The store keeps 4 MB free on this 24 MB disk: lmdb itself must never meet ENOSPC (its writer
    // aborted the process there), so the full disk shows as refused writes, not as a crash.
    const env = { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dir, ADMIN_API_KEY: 'admin-secret', STORE_MIN_FREE_MB: '4' };
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
      expect(h.reason).to.match(/store write failing: No space left on device: .* below the STORE_MIN_FREE_MB reserve/);
      const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: "Bearer admin-secret" } })).text();
      expect(metrics).to.match(/gateway_store_failures_total\{op="write"\} [1-9]/);
      expect(metrics).to.match(/gateway_store_degraded 1/);
      // Still served while full: a miss is forwarded and answered, not cached.
      const whileFull = await ask(gw, 1000);
      expect(whileFull.status).to.equal(200);
      expect(whileFull.headers.get('x-cache-status')).to.equal('miss');
      // Space comes back: writes succeed and the store is healthy again without a restart (once
      // writes have kept succeeding for StoreHealth's hold time, 5 s).
      // The store looks at the free space again at most 100 ms later, so within a few requests an
      // answer is stored and then served.
      fs.rmSync(filler);
      let cached = false;
      for (let tries = 0; tries < 20 && !cached; tries++) {
        expect((await ask(gw, 2000)).status).to.equal(200);
        cached = (await ask(gw, 2000)).headers.get('x-cache-status') === 'hit';
        if (!cached) await new Promise((r) => setTimeout(r, 100));
      }
      expect(cached, 'caching resumed without a restart').to.equal(true);
      acknowledged.push(2000);
      // Healthy again with no request writing anything: the store probes while writes are failing.
      let status = 'degraded';
      for (let i = 0; i < 40 && status !== 'ok'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        status = (await health(gw)).status;
      }
      expect(status, 'healthy again without traffic').to.equal('ok');
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
