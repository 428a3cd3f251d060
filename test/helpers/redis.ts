import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Tests never touch a Redis they did not start: each mocha run starts its own `redis-server` on a
 * free loopback port, in a temp dir, with persistence off, and stops it at the end. Fault tests
 * start further private servers they can kill, stall (SIGSTOP) and restart on the same port.
 * Without a `redis-server` binary the Redis tests skip, saying why.
 */

let binary: string | null | undefined;

/** Path of the redis-server binary, or null when it is not installed. */
export function redisServerBinary(): string | null {
  if (binary === undefined) {
    const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    binary = probe.status === 0 ? 'redis-server' : null;
  }
  return binary;
}

export const NO_REDIS_MESSAGE = 'redis-server is not installed (apt-get install redis-server): skipping the tests that need Redis';

/** Whether a Redis server answers PING at host:port within timeoutMs. */
export function redisAnswers(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => {
      sock.write('PING\r\n');
      sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
    });
  });
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

const live = new Set<ChildProcess>();
// If mocha exits without running the after hooks (exit: true, an uncaught error), no server outlives it.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * A private redis-server for tests: loopback only, its own temp dir, no persistence unless
 * `durable` (an append-only file fsync'd on every write, so what Redis acknowledged survives its
 * own kill and restart on the same port).
 */
export class TestRedis {
  private child?: ChildProcess;
  private stopped = false;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-redis-'));
  port = 0;

  constructor(private readonly opts: { durable?: boolean } = {}) {}

  /** redis://127.0.0.1:<port>/<db> */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts on a free port (or, after a kill, on the same port again) and waits until it answers. */
  async start(): Promise<this> {
    const bin = redisServerBinary();
    if (!bin) throw new Error(NO_REDIS_MESSAGE);
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = this.port || (await freePort());
      const child = spawn(
        bin,
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, '--logfile', path.join(this.dir, 'redis.log')],
          ...(this.opts.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        ],
        { stdio: 'ignore' },
      );
      live.add(child);
      child.once('exit', () => live.delete(child));
      const exited = new Promise<false>((resolve) => child.once('exit', () => resolve(false)));
      for (let i = 0; i < 100; i++) {
        const up = await Promise.race([redisAnswers(port, '127.0.0.1', 200), exited]);
        if (up) {
          this.port = port;
          this.child = child;
          return this;
        }
        if (child.exitCode !== null || child.signalCode !== null) break;
        await new Promise((r) => setTimeout(r, 30));
      }
      child.kill('SIGKILL');
      // The port was taken between probing and binding (a restart keeps its port and retries it).
      if (!this.port) continue;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`redis-server did not start (see ${path.join(this.dir, 'redis.log')})`);
  }

  /** SIGKILL: the server vanishes mid-run (connections reset; data gone unless `durable`). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }

  /** SIGSTOP: the server stalls (connections stay open, nothing answers). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server for good and removes its dir. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.resume();
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

let shared: Promise<TestRedis> | undefined;
let sharedDbs = 0;

/**
 * The run's shared redis-server (started on first use, stopped by the root hook below), or
 * undefined when redis-server is not installed. Callers skip with NO_REDIS_MESSAGE then.
 */
export async function sharedRedis(): Promise<TestRedis | undefined> {
  if (!redisServerBinary()) return undefined;
  shared ??= new TestRedis().start();
  return shared;
}

/** A database of the shared server that no other test uses (so no test flushes another's data). */
export async function freshRedisUrl(): Promise<string | undefined> {
  const redis = await sharedRedis();
  if (!redis) return undefined;
  sharedDbs = (sharedDbs % 15) + 1;
  return redis.url(sharedDbs);
}

/** Skips the calling suite or test, saying why, when there is no redis-server. */
export async function requireRedis(ctx: Mocha.Context): Promise<TestRedis> {
  const redis = await sharedRedis();
  if (!redis) {
    console.log(`      (${NO_REDIS_MESSAGE})`);
    ctx.skip();
  }
  return redis!;
}

/** Root hooks (loaded through .mocharc's `require`): the shared server stops when the run ends. */
export const mochaHooks = {
  async afterAll(): Promise<void> {
    if (shared) await (await shared).stop();
    shared = undefined;
  },
};
