/** Progress goes to stderr so stdout stays for results; BENCH_SILENT=1 mutes it (tests). */
export function log(message: string): void {
  if (process.env.BENCH_SILENT === '1') return;
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${message}\n`);
}
