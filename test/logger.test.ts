import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import winston from 'winston';
import { BatchedStdout, createLogger, logs } from '../src/observability/logger.js';

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
