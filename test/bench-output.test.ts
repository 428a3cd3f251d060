import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishError, resultLocation } from '../bench/lib/output.js';

describe('bench: where a run writes (a plain `make bench` leaves the work tree clean)', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-out-'));
    fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const results = () => path.join(root, 'bench', 'results');

  it('writes quick and full runs under the ignored bench/results/tmp/ and never names latest.md', () => {
    for (const quick of [true, false]) {
      const loc = resultLocation({ root, name: 'n', quick, env: {} });
      expect(path.dirname(loc.outDir)).to.equal(path.join(results(), 'tmp'));
      expect(loc.latestFile).to.equal(undefined);
    }
    expect(fs.readFileSync('.gitignore', 'utf8').split('\n')).to.include('bench/results/tmp/');
  });

  it('publishes (dated folder + latest.md) only a full run asked to with BENCH_PUBLISH=1', () => {
    const loc = resultLocation({ root, name: '2026-01-01-abc', quick: false, env: { BENCH_PUBLISH: '1' } });
    expect(loc.outDir).to.equal(path.join(results(), '2026-01-01-abc'));
    expect(loc.latestFile).to.equal(path.join(results(), 'latest.md'));
    expect(resultLocation({ root, name: 'n', quick: true, env: { BENCH_PUBLISH: '1' } }).latestFile).to.equal(undefined);
    expect(publishError({ BENCH_PUBLISH: '1' }, true)).to.match(/full runs only/);
    expect(publishError({ BENCH_PUBLISH: '1' }, false)).to.equal(undefined);
  });

  it('never reuses a folder that exists (a committed run is not overwritten)', () => {
    fs.mkdirSync(path.join(results(), '2026-01-01-abc'));
    fs.mkdirSync(path.join(results(), '2026-01-01-abc-2'));
    const loc = resultLocation({ root, name: '2026-01-01-abc', quick: false, env: { BENCH_PUBLISH: '1' } });
    expect(loc.outDir).to.equal(path.join(results(), '2026-01-01-abc-3'));
    expect(loc.linkPrefix).to.equal('2026-01-01-abc-3');
  });
});
