import fs from 'node:fs';

/**
 * Reads the store.log of earlier versions (JSON lines of {k,v} sets, {k,d} deletes, {c} clears)
 * once, front to back, into its final key -> value state. A line that does not parse is a torn
 * write (a short write at ENOSPC, power loss): it is skipped and counted, and the lines after it
 * still apply, so one torn record never discards what was written after it.
 */
export function readLegacyLog(file: string): { data: Map<string, string>; records: number; torn: number } {
  const data = new Map<string, string>();
  let records = 0;
  let torn = 0;
  const text = fs.readFileSync(file, 'utf8');
  let offset = 0;
  while (offset < text.length) {
    let nl = text.indexOf('\n', offset);
    if (nl === -1) nl = text.length;
    const line = text.slice(offset, nl);
    offset = nl + 1;
    if (line.trim() === '') continue;
    const parsed = parseRecord(line);
    if (parsed === undefined) {
      // A short write leaves no newline, so the next record was appended to the torn one's line.
      // `{"k":` and `{"c":` cannot occur unescaped inside a JSON string: each one starts a record.
      torn++;
      const start = nextRecordStart(line, 1);
      if (start !== -1) {
        offset -= line.length + 1 - start;
        if (offset < 0) offset = 0;
      }
      continue;
    }
    records++;
    const r = parsed;
    if (r.c) data.clear();
    else if (typeof r.k === 'string' && r.d) data.delete(r.k);
    else if (typeof r.k === 'string' && typeof r.v === 'string') data.set(r.k, r.v);
    else torn++;
  }
  return { data, records, torn };
}

type LogRecord = { k?: unknown; v?: unknown; d?: unknown; c?: unknown };

function parseRecord(line: string): LogRecord | undefined {
  try {
    const r = JSON.parse(line) as LogRecord;
    return r !== null && typeof r === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

function nextRecordStart(line: string, from: number): number {
  const k = line.indexOf('{"k":', from);
  const c = line.indexOf('{"c":', from);
  if (k === -1) return c;
  if (c === -1) return k;
  return Math.min(k, c);
}
