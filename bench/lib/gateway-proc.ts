/**
 * A gateway under load: either a child process (`node dist/src/main.js`, so its CPU time and RSS
 * are its own, read from /proc) or in-process (tests; CPU from process.cpuUsage deltas, which then
 * include the load generator).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import winston from 'winston';
import { loadConfig } from '../../src/config.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { startGateway } from '../../src/server.js';
import { repoRoot } from './datasets.js';

export type GatewayMode = 'child-process' | 'in-process';

export interface ResourceSample {
  /** CPU time (user + system) since the process started, ms. */
  cpuMs: number;
  rssBytes: number;
}

export interface GatewayHandle {
  url: string;
  mode: GatewayMode;
  /** How CPU and RSS are measured, for the report. */
  measuredBy: string;
  sample(): ResourceSample;
  close(): Promise<void>;
}

export function silentLogger(): winston.Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}

/** A free loopback port (probed, then released for the caller to bind). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const CLK_TCK = 100;

export function procSample(pid: number): ResourceSample {
  // /proc/<pid>/stat: fields after the parenthesised name; utime and stime are 14th and 15th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / CLK_TCK, rssBytes: rssKb * 1024 };
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway child exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway child not healthy after ${timeoutMs} ms`);
}

/** Starts `node [nodeArgs] dist/src/main.js` with `env` (on top of PATH and HOME only). */
export async function startGatewayChild(env: Record<string, string | undefined>, nodeArgs: string[] = []): Promise<GatewayHandle> {
  const root = repoRoot();
  const main = path.join(root, 'dist', 'src', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} not found: run \`make build\` first`);
  const port = await freePort();
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  childEnv.PORT = String(port);
  childEnv.HOST = '127.0.0.1';
  const child = spawn(process.execPath, [...nodeArgs, main], { cwd: root, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child, 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  const pid = child.pid!;
  return {
    url,
    mode: 'child-process',
    measuredBy: `gateway child process (pid ${pid}): utime+stime and VmRSS from /proc`,
    sample: () => procSample(pid),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The gateway in this process (tests): CPU and RSS then include the load generator. */
export async function startGatewayInProcess(env: Record<string, string | undefined>, embedder: Embedder): Promise<GatewayHandle> {
  const config = loadConfig({ ...env, PORT: '0', HOST: '127.0.0.1' });
  const gw = await startGateway(config, { embedder, logger: silentLogger() });
  return {
    url: gw.url,
    mode: 'in-process',
    measuredBy: 'in-process: process.cpuUsage() and RSS of the bench process (gateway + load generator + upstream)',
    sample: () => {
      const u = process.cpuUsage();
      return { cpuMs: (u.user + u.system) / 1000, rssBytes: process.memoryUsage().rss };
    },
    close: () => gw.close(),
  };
}
