import fs from 'node:fs';

/**
 * A pid lock file: one gateway per DATA_DIR. The embedded database itself is multi-process safe
 * (LMDB), but each gateway keeps its own in-memory index and hit counters over it, so two gateways
 * on one directory would not see each other's entries. Tools (the keys CLI) do not take it.
 */
export class ProcessLock {
  private constructor(private readonly file: string) {}

  static acquire(file: string, what: string): ProcessLock {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
        return new ProcessLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number(fs.readFileSync(file, 'utf8'));
        if (owner && owner !== process.pid && isAlive(owner)) {
          throw new Error(`${what} is in use by process ${owner}; give each gateway its own DATA_DIR or use CACHE_STORE_URL=redis://...`);
        }
        fs.rmSync(file, { force: true }); // stale lock from a crashed process
      }
    }
    throw new Error(`cannot lock ${what}`);
  }

  release(): void {
    fs.rmSync(this.file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
