import fs from 'node:fs';
import path from 'node:path';

/**
 * A Map<string, string> persisted as an append-only JSON-lines log: the embedded default store
 * behind keyv (keyv accepts any Map and serializes values itself).
 *
 * Why a log: every write is one `write(2)` of a whole line, so a killed process never leaves a
 * half-updated file; a torn last line (power loss mid-write) is detected on load and dropped.
 * Data is in the OS page cache as soon as `set` returns and fsync'd every `syncIntervalMs` and on
 * close. The log is compacted (rewritten to a temp file, fsync'd, renamed) once it holds far more
 * lines than live keys. A lock file keeps two processes from appending to the same log.
 */
export class FileLogMap extends Map<string, string> {
  private fd: number | undefined;
  /** Bytes in the log file, and the bytes its live keys would take if rewritten. */
  private fileBytes = 0;
  private liveBytes = 0;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly lockFile: string;
  private loading = true;

  constructor(
    private readonly file: string,
    private readonly syncIntervalMs = 1000,
    /** Growth allowed beyond twice the live data before a rewrite. */
    private readonly compactionSlackBytes = COMPACTION_SLACK_BYTES,
  ) {
    super();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.lockFile = `${file}.lock`;
    this.acquireLock();
    this.replay();
    this.loading = false;
    this.fd = fs.openSync(file, 'a');
    if (this.needsCompaction()) this.compact();
    if (syncIntervalMs > 0) {
      this.syncTimer = setInterval(() => this.sync(), syncIntervalMs);
      this.syncTimer.unref();
    }
  }

  override set(key: string, value: string): this {
    const old = super.get(key);
    if (old !== undefined) this.liveBytes -= recordBytes(key, old);
    this.liveBytes += recordBytes(key, value);
    super.set(key, value);
    if (!this.loading) this.append({ k: key, v: value });
    return this;
  }

  override delete(key: string): boolean {
    const old = super.get(key);
    if (old !== undefined) this.liveBytes -= recordBytes(key, old);
    const had = super.delete(key);
    if (had && !this.loading) this.append({ k: key, d: 1 });
    return had;
  }

  override clear(): void {
    this.liveBytes = 0;
    super.clear();
    if (!this.loading) this.append({ c: 1 });
  }

  /** Flush to disk now. */
  sync(): void {
    if (this.fd !== undefined && this.dirty) {
      fs.fdatasyncSync(this.fd);
      this.dirty = false;
    }
  }

  close(): void {
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.fd !== undefined) {
      this.sync();
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    try {
      fs.unlinkSync(this.lockFile);
    } catch {
      /* already gone */
    }
  }

  private append(record: Record<string, unknown>): void {
    if (this.fd === undefined) throw new Error(`store ${this.file} is closed`);
    const line = `${JSON.stringify(record)}\n`;
    fs.writeSync(this.fd, line);
    this.dirty = true;
    this.fileBytes += Buffer.byteLength(line);
    if (this.needsCompaction()) this.compact();
  }

  private replay(): void {
    if (!fs.existsSync(this.file)) return;
    const text = fs.readFileSync(this.file, 'utf8');
    let goodBytes = 0;
    let offset = 0;
    while (offset < text.length) {
      const nl = text.indexOf('\n', offset);
      if (nl === -1) break; // torn final line: dropped below
      const line = text.slice(offset, nl);
      offset = nl + 1;
      try {
        const r = JSON.parse(line) as { k?: string; v?: string; d?: 1; c?: 1 };
        if (r.c) this.clear();
        else if (typeof r.k === 'string' && r.d) this.delete(r.k);
        else if (typeof r.k === 'string' && typeof r.v === 'string') this.set(r.k, r.v);
      } catch {
        // A line that does not parse can only be a torn write; everything after it is suspect.
        break;
      }
      goodBytes = Buffer.byteLength(text.slice(0, offset));
    }
    if (goodBytes < fs.statSync(this.file).size) fs.truncateSync(this.file, goodBytes);
    this.fileBytes = goodBytes;
  }

  private compact(): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w');
    try {
      let chunk = '';
      for (const [k, v] of super.entries()) {
        chunk += `${JSON.stringify({ k, v })}\n`;
        if (chunk.length > 1 << 20) {
          fs.writeSync(fd, chunk);
          chunk = '';
        }
      }
      if (chunk) fs.writeSync(fd, chunk);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    fsyncDir(path.dirname(this.file));
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'a');
    this.fileBytes = fs.statSync(this.file).size;
    this.dirty = false;
  }

  private needsCompaction(): boolean {
    return this.fileBytes > 2 * this.liveBytes + this.compactionSlackBytes;
  }

  private acquireLock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(this.lockFile, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number(fs.readFileSync(this.lockFile, 'utf8'));
        if (owner && owner !== process.pid && isAlive(owner)) {
          throw new Error(`${this.file} is in use by process ${owner}; give each gateway its own DATA_DIR or use CACHE_STORE_URL=redis://...`);
        }
        fs.unlinkSync(this.lockFile); // stale lock from a crashed process
      }
    }
  }
}

/** Growth the log may have beyond twice its live data before it is rewritten. */
const COMPACTION_SLACK_BYTES = 16 * 1024 * 1024;

/** Bytes of the line that stores `key` = `value` (what a compaction writes for it). */
function recordBytes(key: string, value: string): number {
  return Buffer.byteLength(JSON.stringify({ k: key, v: value })) + 1;
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
