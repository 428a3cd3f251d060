/** A small hand-drawn SVG line chart: precision (y) against hit ratio (x), one line per series. */

export interface PlotPoint {
  x: number;
  y: number;
  /** Shown next to the point when set (e.g. the threshold). */
  label?: string;
  /** Drawn as a ring (e.g. the configured threshold). */
  mark?: boolean;
}

export interface PlotSeries {
  name: string;
  points: PlotPoint[];
  dashed?: boolean;
  /** Index into the palette; series of one workload share a colour. */
  colour: number;
  width?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#111111'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceCeil(x: number): number {
  for (const step of [0.05, 0.1, 0.2, 0.25, 0.5, 1]) if (x <= step) return step;
  return Math.ceil(x);
}

export function renderPlot(opts: { title: string; subtitle: string; xLabel: string; yLabel: string; series: PlotSeries[]; yMin?: number }): string {
  const W = 960;
  const H = 560;
  const m = { left: 70, right: 260, top: 60, bottom: 60 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = opts.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xMax = niceCeil(Math.max(0.05, ...all.map((p) => p.x)) * 1.05);
  const yMinData = Math.min(1, ...all.map((p) => p.y));
  const yMin = opts.yMin ?? Math.max(0, Math.floor(Math.min(yMinData, 0.9) * 10) / 10);
  const sx = (x: number) => m.left + (x / xMax) * pw;
  const sy = (y: number) => m.top + (1 - (y - yMin) / (1 - yMin)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${m.left}" y="24" font-size="16" font-weight="bold">${esc(opts.title)}</text>`);
  out.push(`<text x="${m.left}" y="42" fill="#555">${esc(opts.subtitle)}</text>`);
  // Grid and ticks.
  for (let i = 0; i <= 10; i++) {
    const x = (xMax * i) / 10;
    out.push(`<line x1="${sx(x)}" y1="${m.top}" x2="${sx(x)}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${sx(x)}" y="${m.top + ph + 18}" text-anchor="middle" fill="#333">${(x * 100).toFixed(0)}%</text>`);
  }
  const ySteps = Math.round((1 - yMin) / 0.05);
  for (let i = 0; i <= ySteps; i++) {
    const y = yMin + ((1 - yMin) * i) / ySteps;
    out.push(`<line x1="${m.left}" y1="${sy(y)}" x2="${m.left + pw}" y2="${sy(y)}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 8}" y="${sy(y) + 4}" text-anchor="end" fill="#333">${(y * 100).toFixed(0)}%</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 16}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  // Lines, clipped to the plot area (points below yMin run off the bottom).
  out.push(`<clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath>`);
  out.push('<g clip-path="url(#plot)">');
  for (const s of opts.series) {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length === 0) continue;
    const colour = PALETTE[s.colour % PALETTE.length]!;
    const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="${s.width ?? 1.8}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of pts) {
      if (p.mark) out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="5" fill="none" stroke="${colour}" stroke-width="2"/>`);
      if (p.label) out.push(`<text x="${(sx(p.x) + 4).toFixed(1)}" y="${(sy(p.y) - 5).toFixed(1)}" font-size="10" fill="${colour}">${esc(p.label)}</text>`);
    }
  }
  out.push('</g>');
  // Legend.
  let ly = m.top + 6;
  for (const s of opts.series) {
    const colour = PALETTE[s.colour % PALETTE.length]!;
    const lx = m.left + pw + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${colour}" stroke-width="${s.width ?? 1.8}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${esc(s.name)}</text>`);
    ly += 18;
  }
  out.push(`<text x="${m.left + pw + 16}" y="${ly + 10}" fill="#555">ring: configured threshold</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
