import fs from 'node:fs';
import path from 'node:path';

export interface ResultLocation {
  /** The folder the run writes summary.md, results.json and the plot into (new, never reused). */
  outDir: string;
  /** bench/results/latest.md, only when this run is published. */
  latestFile?: string;
  /** The run folder's name relative to latest.md's folder, for latest.md's links. */
  linkPrefix?: string;
}

/**
 * Where a bench run writes. A plain `make bench` must leave the work tree as it was (`git status`
 * clean), so by default results go to the ignored bench/results/tmp/. Only BENCH_PUBLISH=1 on a
 * full run writes a dated folder next to the committed ones and replaces latest.md, the file the
 * README cites; a quick run never does. BENCH_OUT=<dir> writes exactly there. A folder that
 * exists already gets a -2, -3... suffix so no earlier run (committed or not) is overwritten.
 */
export function resultLocation(opts: { root: string; name: string; quick: boolean; env: NodeJS.ProcessEnv }): ResultLocation {
  const { root, name, quick, env } = opts;
  if (env.BENCH_OUT) return { outDir: path.resolve(env.BENCH_OUT) };
  const results = path.join(root, 'bench', 'results');
  const publish = env.BENCH_PUBLISH === '1' && !quick;
  const parent = publish ? results : path.join(results, 'tmp');
  let dir = name;
  for (let i = 2; fs.existsSync(path.join(parent, dir)); i++) dir = `${name}-${i}`;
  const outDir = path.join(parent, dir);
  return publish ? { outDir, latestFile: path.join(results, 'latest.md'), linkPrefix: dir } : { outDir };
}

/** BENCH_PUBLISH=1 with BENCH_QUICK=1 is refused before the run, not discovered after it. */
export function publishError(env: NodeJS.ProcessEnv, quick: boolean): string | undefined {
  if (env.BENCH_PUBLISH === '1' && quick) return 'BENCH_PUBLISH=1 publishes full runs only (latest.md cites a full run); unset BENCH_QUICK';
  if (env.BENCH_PUBLISH === '1' && env.BENCH_OUT) return 'BENCH_PUBLISH=1 and BENCH_OUT exclude each other';
  return undefined;
}
