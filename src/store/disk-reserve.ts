import fs from 'node:fs';

/** STORE_MIN_FREE_MB's default. */
export const DEFAULT_STORE_MIN_FREE_MB = 64;

/**
 * Keeps the embedded store's writes away from a full disk. lmdb-js does not survive ENOSPC in the
 * middle of a commit (its writer corrupted the heap and aborted the process in about 1 run of 4),
 * so the store never lets a commit get that far: before each write it checks the free space of the
 * file system holding the database and refuses the write (a store failure: logged, counted,
 * /health degraded) while less than `minFreeBytes` is left. What was committed stays committed,
 * and writes are accepted again as soon as space comes back.
 *
 * statfs is a cheap system call, but it is still not made for every write: the answer is kept for
 * `maxAgeMs`, and the bytes the store has written since are subtracted from it, so a burst of
 * writes inside that window cannot go through the reserve unnoticed.
 */
export class DiskReserve {
  private free = Number.POSITIVE_INFINITY;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private writtenSince = 0;

  constructor(
    private readonly dir: string,
    readonly minFreeBytes: number,
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs = 100,
    private readonly statfs: (dir: string) => { bavail: number; bsize: number } = (d) => fs.statfsSync(d),
  ) {}

  /**
   * Throws an ENOSPC error when writing about `bytes` would leave less than the reserve free.
   * A file system that cannot be asked (statfs failed) does not block writes.
   */
  admit(bytes: number): void {
    if (this.minFreeBytes <= 0) return;
    const now = this.now();
    if (now - this.checkedAt >= this.maxAgeMs || this.writtenSince >= this.minFreeBytes / 4) this.refresh(now);
    // A B-tree write dirties a few pages beyond the value itself (copy-on-write of the path).
    const cost = bytes * 2 + 16 * 4096;
    const left = this.free - this.writtenSince - cost;
    if (left < this.minFreeBytes) {
      const err = new Error(
        `No space left on device: ${mb(Math.max(0, this.free - this.writtenSince))} free where the store lives (${this.dir}), ` +
          `below the STORE_MIN_FREE_MB reserve of ${mb(this.minFreeBytes)}; writes refused until space comes back`,
      ) as NodeJS.ErrnoException;
      err.code = 'ENOSPC';
      throw err;
    }
    this.writtenSince += cost;
  }

  private refresh(now: number): void {
    try {
      const s = this.statfs(this.dir);
      this.free = s.bavail * s.bsize;
    } catch {
      this.free = Number.POSITIVE_INFINITY;
    }
    this.checkedAt = now;
    this.writtenSince = 0;
  }
}

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
