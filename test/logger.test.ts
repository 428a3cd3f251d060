import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import winston from 'winston';
import { BatchedStdout, createLogger, jsonLine, logs } from '../src/observability/logger.js';

describe('logger: batched stdout', () => {
  it('writes every line, in order, once per event-loop turn rather than once per line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'log-'));
    const file = path.join(dir, 'out.log');
    const fd = fs.openSync(file, 'w');
    try {
      const logger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream: new BatchedStdout(fd) })] });
      for (let i = 0; i < 50; i++) logger.info('line', { i });
      // Nothing written yet: the batch goes out on the next turn.
      expect(fs.readFileSync(file, 'utf8')).to.equal('');
      await new Promise((r) => setTimeout(r, 50));
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { i: number });
      expect(lines.map((l) => l.i)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loses no line when the process exits right after logging', async () => {
    const script = [
      "import { createLogger } from './src/observability/logger.ts';",
      "const log = createLogger({ level: 'info', prompts: false });",
      "for (let i = 0; i < 3; i++) log.info('bye', { i });",
      'process.exit(3);',
    ].join('\n');
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '..') });
    const err = (await run.then(() => undefined, (e: { code: number; stdout: string }) => e))!;
    expect(err.code).to.equal(3);
    const lines = err.stdout.trim().split('\n').map((l) => JSON.parse(l) as { message: string; i: number });
    expect(lines.map((l) => [l.message, l.i])).to.deep.equal([['bye', 0], ['bye', 1], ['bye', 2]]);
  });

  it('says whether a level is written, so callers skip building lines that are not', () => {
    expect(logs(createLogger({ level: 'warn', prompts: false }), 'info')).to.equal(false);
    expect(logs(createLogger({ level: 'info', prompts: false }), 'info')).to.equal(true);
    expect(logs(createLogger({ level: 'silent', prompts: false }), 'warn')).to.equal(false);
  });
});

describe('logger: line format', () => {
  const MESSAGE = Symbol.for('message');
  const line = (info: Record<string, unknown>) => JSON.parse((jsonLine().transform({ level: 'info', ...info } as never, {}) as unknown as Record<symbol, string>)[MESSAGE]!) as Record<string, unknown>;

  it('writes the same fields as winston json() plus timestamp(): every field, an ISO timestamp, no undefined', () => {
    const info = { level: 'info', message: 'chat', event: 'request', status: 200, similarity: 0.91, nested: { a: [1, 'x'] }, absent: undefined };
    const mine = line(info);
    const theirs = JSON.parse(
      (winston.format.combine(winston.format.timestamp(), winston.format.json()).transform({ ...info } as never, {}) as unknown as Record<symbol, string>)[MESSAGE]!,
    ) as Record<string, unknown>;
    expect(Object.keys(mine).sort()).to.deep.equal(Object.keys(theirs).sort());
    expect({ ...mine, timestamp: 0 }).to.deep.equal({ ...theirs, timestamp: 0 });
    expect(new Date(mine.timestamp as string).toISOString()).to.equal(mine.timestamp);
  });

  it('still writes a line for values JSON.stringify refuses (a cycle, a BigInt)', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(line({ message: 'm', cyclic }).cyclic).to.deep.equal({ name: 'loop', self: '[Circular]' });
    expect(line({ message: 'm', big: 12n }).big).to.equal('12');
  });
});
