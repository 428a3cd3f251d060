/**
 * `make fuzz`: the full hostile-input campaign (bench/fuzz/) and the fault suite (bench/fault/)
 * against the real entry point. Writes {report.md,report.json} to bench/results/tmp/<date>-<sha>-fuzz/
 * (ignored by git; BENCH_PUBLISH=1: bench/results/<date>-<sha>-fuzz/; BENCH_OUT: there) and exits non-zero when any invariant was violated.
 * FUZZ_SEED (default BENCH_SEED or 42), FUZZ_COUNT (default 2500), FUZZ_CONCURRENCY (default 4),
 * FUZZ_KILLS (default 10), FUZZ_PARTS (default fuzz,fault).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { faultMarkdown, runFaultSuite, type ScenarioReport } from './fault/suite.js';
import { campaignMarkdown, runCampaign, type CampaignReport } from './fuzz/campaign.js';
import { repoRoot } from './lib/datasets.js';
import { resultLocation } from './lib/output.js';

function intEnv(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const root = repoRoot();
  const seed = intEnv('FUZZ_SEED', intEnv('BENCH_SEED', 42));
  const count = intEnv('FUZZ_COUNT', 2500);
  const concurrency = intEnv('FUZZ_CONCURRENCY', 4);
  const parts = (process.env.FUZZ_PARTS ?? 'fuzz,fault').split(',').map((p) => p.trim());
  let report: CampaignReport | undefined;
  if (parts.includes('fuzz')) {
    console.log(`fuzz: ${count} requests, seed ${seed}, concurrency ${concurrency}`);
    report = await runCampaign({ seed, count, concurrency, entry: 'dist', onProgress: (done, total) => console.log(`fuzz: ${done}/${total}`) });
  }
  let faults: ScenarioReport[] = [];
  if (parts.includes('fault')) {
    console.log('fault: starting the fault suite');
    faults = await runFaultSuite({ entry: 'dist', kills: intEnv('FUZZ_KILLS', 10), log: (l) => console.log(l) });
  }
  let sha = 'nogit';
  try {
    sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the directory name says so
  }
  // Like make bench: the ignored bench/results/tmp/ unless BENCH_PUBLISH=1 (latest.md is left alone).
  const { outDir } = resultLocation({ root, name: `${new Date().toISOString().slice(0, 10)}-${sha}-fuzz`, quick: false, env: process.env });
  fs.mkdirSync(outDir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const md =
    (report ? campaignMarkdown(report, `Fuzz campaign and fault suite (${date}, ${sha})`) : `# Fault suite (${date}, ${sha})\n\n`) +
    (faults.length ? '\n' + faultMarkdown(faults) : '');
  fs.writeFileSync(path.join(outDir, 'report.md'), md);
  fs.writeFileSync(path.join(outDir, 'report.json'), JSON.stringify({ fuzz: report, faults }, null, 2) + '\n');
  console.log(md);
  console.log(`fuzz: report in ${path.relative(root, outDir)}/report.md`);
  const violations = (report?.violations.length ?? 0) + faults.reduce((n, f) => n + f.violations.length, 0);
  process.exit(violations === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
