/**
 * The fault suite: the real entry point under the faults an operator meets — SIGKILL under load,
 * a full disk (a small tmpfs, when this process may mount one), Redis killed and stalled (a
 * redis-server this suite starts itself, with an fsync'd append-only file so that what Redis
 * acknowledged survives its own kill), and upstream failures. Each scenario checks that every
 * answer the gateway acknowledged as stored is still served after the fault, and that service
 * resumes without restarting the gateway. Loopback only; bounded in count and time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeOpenAI, type Behavior } from '../../test/helpers/fake-openai.js';
import { repoRoot } from '../lib/datasets.js';
import { freePort } from '../lib/gateway-proc.js';

export interface ScenarioReport {
  name: string;
  /** Why it did not run (no redis-server, no permission to mount a tmpfs). */
  skipped?: string;
  kills: number;
  requests: number;
  entriesChecked: number;
  entriesLost: number;
  /** Longest time any request took to be answered during the fault, ms. */
  longestAnswerMs: number;
  violations: string[];
}

export interface FaultOptions {
  entry?: 'dist' | 'src';
  /** SIGKILL rounds in the kill-under-load scenario. */
  kills?: number;
  /** Requests in flight during a kill. */
  concurrency?: number;
  scenarios?: string[];
  log?: (line: string) => void;
}

export const SCENARIOS = ['kill-under-load', 'disk-full', 'redis-outage', 'upstream-faults'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  url: string;
  logs: () => string;
}

async function startGateway(entry: 'dist' | 'src', env: Record<string, string>, timeoutMs = 90_000): Promise<Proc> {
  const root = repoRoot();
  const args = entry === 'dist' ? [path.join(root, 'dist', 'src', 'main.js')] : ['--import', 'tsx', path.join(root, 'src', 'main.ts')];
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  const keep = (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${logs.slice(-1500)}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not healthy after ${timeoutMs} ms: ${logs.slice(-1500)}`);
    }
    await sleep(100);
  }
  return { child, url, logs: () => logs };
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

interface ChatAnswer {
  status: number;
  cache: string | null;
  content?: string;
  ms: number;
  error?: string;
}

async function chat(url: string, prompt: string, opts: { timeoutMs?: number; stream?: boolean; namespace?: string } = {}): Promise<ChatAnswer> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cache-namespace': opts.namespace ?? 'fault' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: opts.stream === true, messages: [{ role: 'user', content: prompt }] }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let content: string | undefined;
    if (res.status === 200 && !opts.stream) content = (JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content;
    return { status: res.status, cache: res.headers.get('x-cache-status'), content, ms: performance.now() - t0 };
  } catch (err) {
    return { status: 0, cache: null, ms: performance.now() - t0, error: (err as Error).message };
  }
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch (err) {
    return { status: 0, body: { error: (err as Error).message } };
  }
}

/** Polls until `ok` holds or the time is up. */
async function eventually(ok: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok()) return true;
    await sleep(200);
  }
  return false;
}

/** Service resumed without a restart: a fresh answer is stored and then served as an exact hit. */
async function cachingResumes(url: string, label: string, acked: Map<string, string>, report: ScenarioReport, timeoutMs: number): Promise<boolean> {
  return eventually(async () => {
    const prompt = `${label}: probe ${Date.now()}`;
    const first = await chat(url, prompt);
    const second = await chat(url, prompt);
    report.requests += 2;
    if (first.status === 200 && second.cache === 'hit' && first.content !== undefined) {
      acked.set(prompt, first.content);
      return true;
    }
    return false;
  }, timeoutMs);
}

function newReport(name: string): ScenarioReport {
  return { name, kills: 0, requests: 0, entriesChecked: 0, entriesLost: 0, longestAnswerMs: 0, violations: [] };
}

/** Every acknowledged prompt must be an exact hit serving the acknowledged content. */
async function checkAcknowledged(url: string, acked: Map<string, string>, report: ScenarioReport, namespace = 'fault'): Promise<void> {
  for (const [prompt, content] of acked) {
    const r = await chat(url, prompt, { namespace });
    report.requests++;
    report.entriesChecked++;
    if (r.cache !== 'hit' || r.content !== content) {
      report.entriesLost++;
      if (report.violations.length < 20) report.violations.push(`acknowledged entry lost: "${prompt}" came back ${r.status} ${r.cache}`);
    }
  }
}

/** SIGKILL at a random moment while `concurrency` requests are in flight, `kills` times. */
async function killUnderLoad(entry: 'dist' | 'src', upstream: FakeOpenAI, kills: number, concurrency: number, log: (s: string) => void): Promise<ScenarioReport> {
  const report = newReport('kill-under-load');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fault-kill-'));
  const acked = new Map<string, string>();
  let seq = 0;
  try {
    for (let round = 0; round < kills; round++) {
      const gw = await startGateway(entry, { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir });
      // Everything acknowledged before this start must have survived the previous kill.
      await checkAcknowledged(gw.url, acked, report);
      upstream.behavior = { latencyMs: 5 };
      let stop = false;
      const load = async () => {
        while (!stop) {
          const prompt = `fault kill round ${round} request ${seq++}: what is ${seq} times ${round + 7}?`;
          const r = await chat(gw.url, prompt, { timeoutMs: 10_000 });
          report.requests++;
          if (r.status === 200 && r.content !== undefined) acked.set(prompt, r.content);
          if (r.status === 0) return; // the process is gone
        }
      };
      const ackedBefore = acked.size;
      const workers = Array.from({ length: concurrency }, load);
      // Kill once this round has some acknowledged answers, at a random moment while others are in flight.
      await eventually(async () => acked.size >= ackedBefore + 3, 30_000);
      await sleep(Math.floor(Math.random() * 400));
      await kill9(gw.child);
      report.kills++;
      stop = true;
      await Promise.all(workers);
      log(`fault: kill ${round + 1}/${kills}, ${acked.size} answers acknowledged so far`);
    }
    const gw = await startGateway(entry, { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir });
    try {
      await checkAcknowledged(gw.url, acked, report);
    } finally {
      await kill9(gw.child);
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return report;
}

/** Whether this process may mount a tmpfs (root, and a kernel that lets it). */
function canMountTmpfs(dir: string): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

/** The data dir on an 8 MB tmpfs; the disk fills while the gateway runs, then space comes back. */
async function diskFull(entry: 'dist' | 'src', upstream: FakeOpenAI, log: (s: string) => void): Promise<ScenarioReport> {
  const report = newReport('disk-full');
  const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fault-disk-'));
  if (!canMountTmpfs(mountDir)) {
    fs.rmSync(mountDir, { recursive: true, force: true });
    return { ...report, skipped: 'cannot mount a tmpfs here (needs root)' };
  }
  const filler = path.join(mountDir, 'filler');
  let gw: Proc | undefined;
  try {
    // The store keeps 2 MB of this 8 MB disk free (STORE_MIN_FREE_MB): the fill then shows as
    // refused writes, and the answers acknowledged before it must all come back.
    const env = { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: path.join(mountDir, 'data'), STORE_MIN_FREE_MB: '2' };
    gw = await startGateway(entry, env);
    upstream.behavior = {};
    const acked = new Map<string, string>();
    for (let i = 0; i < 10; i++) {
      const prompt = `before the disk fills: fact number ${i} about rivers`;
      const r = await chat(gw.url, prompt);
      report.requests++;
      if (r.status === 200 && r.content !== undefined) acked.set(prompt, r.content);
    }
    // Fill every byte that is left.
    const fd = fs.openSync(filler, 'w');
    const block = Buffer.alloc(64 * 1024, 0x61);
    try {
      for (;;) fs.writeSync(fd, block);
    } catch {
      // ENOSPC: the disk is full
    }
    try {
      for (;;) fs.writeSync(fd, block.subarray(0, 512));
    } catch {
      // the last few bytes
    }
    fs.closeSync(fd);
    log('fault: disk full');
    let degradedSeen = false;
    for (let i = 0; i < 20; i++) {
      const r = await chat(gw.url, `while the disk is full: question ${i} about ${'long answer text '.repeat(40)}`);
      report.requests++;
      report.longestAnswerMs = Math.max(report.longestAnswerMs, r.ms);
      if (r.status !== 200) report.violations.push(`a request while the disk is full got ${r.status} ${r.error ?? ''}`);
      const h = await health(gw.url);
      if (h.body.status === 'degraded') degradedSeen = true;
    }
    if (!degradedSeen) report.violations.push('/health never reported degraded while writes failed');
    fs.rmSync(filler);
    log('fault: space back');
    // Service resumes without a restart: a fresh answer is stored and served again.
    const resumed = await cachingResumes(gw!.url, `after space came back`, acked, report, 20_000);
    if (!resumed) report.violations.push('caching did not resume after space came back');
    const healthy = await eventually(async () => (await health(gw!.url)).body.status === 'ok', 20_000);
    if (!healthy) report.violations.push('/health did not return to ok after space came back');
    await kill9(gw.child);
    report.kills++;
    gw = await startGateway(entry, env);
    await checkAcknowledged(gw.url, acked, report);
  } finally {
    if (gw) await kill9(gw.child);
    spawnSync('umount', [mountDir]);
    fs.rmSync(mountDir, { recursive: true, force: true });
  }
  return report;
}

/** A redis-server of this suite's own, with an fsync'd AOF, killable and restartable on its port. */
class DurableRedis {
  child?: ChildProcess;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fault-redis-'));
  port = 0;

  async start(): Promise<void> {
    this.port ||= await freePort();
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir, '--logfile', path.join(this.dir, 'redis.log')],
      { stdio: 'ignore' },
    );
    const ok = await eventually(async () => {
      const res = spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' });
      return res.stdout.trim() === 'PONG';
    }, 10_000);
    if (!ok) throw new Error('redis-server did not start');
  }

  async kill(): Promise<void> {
    if (this.child) await kill9(this.child);
  }

  stop(): void {
    this.child?.kill('SIGCONT');
    this.child?.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Redis killed, then stalled (SIGSTOP): answers stay bounded, caching resumes, nothing acknowledged is lost. */
async function redisOutage(entry: 'dist' | 'src', upstream: FakeOpenAI, log: (s: string) => void): Promise<ScenarioReport> {
  const report = newReport('redis-outage');
  if (spawnSync('redis-server', ['--version']).status !== 0) return { ...report, skipped: 'redis-server is not installed' };
  const redis = new DurableRedis();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fault-rdata-'));
  let gw: Proc | undefined;
  try {
    await redis.start();
    gw = await startGateway(entry, { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir, CACHE_STORE_URL: `redis://127.0.0.1:${redis.port}/0` });
    upstream.behavior = {};
    const acked = new Map<string, string>();
    for (let i = 0; i < 10; i++) {
      const prompt = `before redis goes away: fact ${i} about glaciers`;
      const r = await chat(gw.url, prompt);
      report.requests++;
      if (r.status === 200 && r.content !== undefined) acked.set(prompt, r.content);
    }
    for (const fault of ['kill', 'stall'] as const) {
      if (fault === 'kill') await redis.kill();
      else redis.child!.kill('SIGSTOP');
      log(`fault: redis ${fault}`);
      let degradedSeen = false;
      for (let i = 0; i < 6; i++) {
        const r = await chat(gw.url, `while redis is down (${fault}): question ${i}`, { timeoutMs: 30_000 });
        report.requests++;
        report.longestAnswerMs = Math.max(report.longestAnswerMs, r.ms);
        if (r.status !== 200) report.violations.push(`redis ${fault}: a request got ${r.status} ${r.error ?? ''}`);
        if ((await health(gw.url)).body.status === 'degraded') degradedSeen = true;
      }
      if (!degradedSeen) report.violations.push(`redis ${fault}: /health never reported degraded`);
      if (fault === 'kill') {
        await redis.start();
        report.kills++;
      } else redis.child!.kill('SIGCONT');
      const resumed = await cachingResumes(gw!.url, `after redis ${fault}`, acked, report, 30_000);
      if (!resumed) report.violations.push(`caching did not resume after redis ${fault}`);
      await checkAcknowledged(gw.url, acked, report);
    }
  } finally {
    if (gw) await kill9(gw.child);
    redis.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return report;
}

/** Upstream errors, cut streams and stalls: clear 5xx, never cached, the gateway keeps serving. */
async function upstreamFaults(entry: 'dist' | 'src', upstream: FakeOpenAI): Promise<ScenarioReport> {
  const report = newReport('upstream-faults');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fault-up-'));
  const gw = await startGateway(entry, { UPSTREAM_BASE_URL: upstream.url, DATA_DIR: dataDir, UPSTREAM_TIMEOUT_MS: '1500' });
  try {
    const faults: Array<[string, Behavior, boolean]> = [
      ['500', { failStatus: 500 }, false],
      ['503', { failStatus: 503 }, false],
      ['429', { failStatus: 429 }, false],
      ['stall', { latencyMs: 4000 }, false],
      ['cut stream', { abortAfterChunks: 2 }, true],
    ];
    for (const [name, behavior, stream] of faults) {
      const prompt = `upstream fault ${name}: what is the boiling point of water?`;
      upstream.behavior = behavior;
      const r = await chat(gw.url, prompt, { stream, timeoutMs: 30_000 });
      report.requests++;
      report.longestAnswerMs = Math.max(report.longestAnswerMs, r.ms);
      if (!stream && (r.status < 400 || r.status === 0)) report.violations.push(`${name}: answered ${r.status} instead of an error`);
      // Never cached: the same request with a healthy upstream is a miss that reaches it.
      upstream.behavior = {};
      const before = upstream.calls.length;
      const again = await chat(gw.url, prompt, { stream });
      report.requests++;
      if (again.status !== 200 || again.cache !== 'miss' || upstream.calls.length === before) {
        report.violations.push(`${name}: the failed answer was cached (then ${again.status} ${again.cache})`);
      }
    }
  } finally {
    await kill9(gw.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return report;
}

/** Runs the chosen scenarios with one fake upstream; a scenario that throws is a violation. */
export async function runFaultSuite(opts: FaultOptions = {}): Promise<ScenarioReport[]> {
  const entry = opts.entry ?? 'dist';
  const log = opts.log ?? (() => undefined);
  const chosen = opts.scenarios ?? [...SCENARIOS];
  const upstream = await new FakeOpenAI().start();
  const out: ScenarioReport[] = [];
  try {
    for (const name of chosen) {
      try {
        if (name === 'kill-under-load') out.push(await killUnderLoad(entry, upstream, opts.kills ?? 10, opts.concurrency ?? 8, log));
        else if (name === 'disk-full') out.push(await diskFull(entry, upstream, log));
        else if (name === 'redis-outage') out.push(await redisOutage(entry, upstream, log));
        else if (name === 'upstream-faults') out.push(await upstreamFaults(entry, upstream));
        else throw new Error(`unknown scenario ${name}`);
      } catch (err) {
        out.push({ ...newReport(name), violations: [`scenario failed: ${(err as Error).message.slice(0, 500)}`] });
      }
    }
  } finally {
    await upstream.stop();
  }
  return out;
}

export function faultMarkdown(reports: ScenarioReport[]): string {
  const lines = [
    '## Fault suite',
    '',
    '| scenario | kills | requests | entries checked | entries lost | longest answer during the fault | violations |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of reports) {
    if (r.skipped) lines.push(`| ${r.name} | skipped: ${r.skipped} | | | | | |`);
    else lines.push(`| ${r.name} | ${r.kills} | ${r.requests} | ${r.entriesChecked} | ${r.entriesLost} | ${Math.round(r.longestAnswerMs)} ms | ${r.violations.length} |`);
  }
  const all = reports.flatMap((r) => r.violations.map((v) => `- ${r.name}: ${v}`));
  if (all.length) lines.push('', ...all);
  return lines.join('\n') + '\n';
}
