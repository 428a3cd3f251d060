/**
 * Bench part `memory`: fills N entries (100k by default) into the embedded store through the
 * store API (SemanticCache.store, no HTTP; seeded random vectors of the model's dimension and
 * ~0.9 KB answers), then restarts on it, each phase in its own process, and reports RSS per entry
 * and restart time. RSS per entry = (RSS after the restart with N entries - RSS of the same
 * process opening an empty store) / N, so the runtime's own footprint is not counted.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HnswSettings } from '../../src/vector-index/hnsw-index.js';
import { log } from './progress.js';

export interface MemoryReport {
  entries: number;
  dimension: number;
  settings: HnswSettings;
  fillSec: number;
  /** First start on the filled store: opening the store, loading the index, reading the compact records. */
  restartSec: number;
  /** A second restart (OS page cache warm). */
  restartWarmSec: number;
  baselineRssMiB: number;
  rssAfterRestartMiB: number;
  rssAfterLookupsMiB: number;
  rssPerEntryBytes: number;
  /** Of which the vector itself (4 bytes per dimension). */
  vectorBytes: number;
  exactLookupUs: number;
  exactHits: number;
  exactSample: number;
  storeFileMiB: number;
  indexFileMiB: number;
}

function child(phase: 'fill' | 'open', dir: string, n: number, dim: number, seed: number, s: HnswSettings): Record<string, number> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ts = fs.existsSync(path.join(here, 'memory-child.ts'));
  const script = path.join(here, ts ? 'memory-child.ts' : 'memory-child.js');
  const args = [...(ts ? ['--import', 'tsx'] : []), '--expose-gc', script, phase, dir, String(n), String(dim), String(seed), String(s.m), String(s.efConstruction), String(s.efSearch)];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
}

function sizeMiB(dir: string, match: (name: string) => boolean): number {
  let bytes = 0;
  for (const f of fs.readdirSync(dir)) if (match(f)) bytes += fs.statSync(path.join(dir, f)).size;
  return bytes / 2 ** 20;
}

export async function runMemory(opts: { entries: number; dimension: number; settings: HnswSettings; seed: number }): Promise<MemoryReport> {
  const { entries: n, dimension: dim, settings, seed } = opts;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-memory-'));
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-memory-empty-'));
  try {
    log(`memory: filling ${n} entries (${dim}-d) through the store API`);
    const fill = child('fill', dir, n, dim, seed, settings);
    log(`memory: filled in ${fill.fillSec!.toFixed(1)} s; restarting`);
    const restart = child('open', dir, n, dim, seed, settings);
    const warm = child('open', dir, n, dim, seed, settings);
    const base = child('open', empty, 0, dim, seed, settings);
    const report: MemoryReport = {
      entries: n,
      dimension: dim,
      settings,
      fillSec: fill.fillSec!,
      restartSec: restart.openSec!,
      restartWarmSec: warm.openSec!,
      baselineRssMiB: base.rssAfterOpenMiB!,
      rssAfterRestartMiB: restart.rssAfterOpenMiB!,
      rssAfterLookupsMiB: restart.rssAfterLookupsMiB!,
      rssPerEntryBytes: ((restart.rssAfterOpenMiB! - base.rssAfterOpenMiB!) * 2 ** 20) / n,
      vectorBytes: 4 * dim,
      exactLookupUs: warm.exactLookupUs!,
      exactHits: warm.exactHits!,
      exactSample: warm.exactSample!,
      storeFileMiB: sizeMiB(dir, (f) => f.endsWith('.mdb')),
      indexFileMiB: sizeMiB(dir, (f) => f.endsWith('.hnsw')),
    };
    if (restart.entries !== n) throw new Error(`restart found ${restart.entries} of ${n} entries`);
    log(`memory: restart ${report.restartSec.toFixed(2)} s, ${(report.rssPerEntryBytes / 1024).toFixed(2)} KiB RSS per entry`);
    return report;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(empty, { recursive: true, force: true });
  }
}

export function renderMemory(r: MemoryReport): string[] {
  const kib = (b: number) => (b / 1024).toFixed(2);
  return [
    '## Memory and restart (embedded store)',
    '',
    `${r.entries} entries filled through the store API (SemanticCache.store, no HTTP), ${r.dimension}-d seeded random vectors, ~0.9 KB answers; ` +
      'each phase in its own process. RSS per entry is (RSS after the restart - RSS of the same process on an empty store) / entries.',
    '',
    '| entries | fill s | restart s | restart (warm) s | RSS per entry KiB | of which vector KiB | exact lookup us | store file MiB | index file MiB |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${r.entries} | ${r.fillSec.toFixed(1)} | ${r.restartSec.toFixed(2)} | ${r.restartWarmSec.toFixed(2)} | ${kib(r.rssPerEntryBytes)} | ${kib(r.vectorBytes)} | ${r.exactLookupUs.toFixed(1)} | ${r.storeFileMiB.toFixed(1)} | ${r.indexFileMiB.toFixed(1)} |`,
    '',
  ];
}
