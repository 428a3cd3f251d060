/**
 * The /dashboard page: one self-contained HTML document (inline CSS and script, charts drawn as
 * inline SVG), exported as a string so it is served the same from src/ and dist/ with no assets to
 * copy. It loads nothing but the stats JSON from its own origin; the Content-Security-Policy below
 * makes the browser refuse anything else.
 *
 * Elements with stable ids hold the headline numbers, each with its raw value in `data-value`, so a
 * browser test can compare them with GET /v1/gateway/stats: #total-requests, #hit-ratio,
 * #exact-hits, #semantic-hits, #misses, #errors, #saved-usd, #saved-tokens, #cost-usd,
 * #spent-tokens, #p50-ms, #p95-ms; and, from the persisted totals that survive restarts,
 * #lifetime-requests, #lifetime-hit-ratio, #lifetime-saved-usd, #lifetime-cost-usd,
 * #lifetime-saved-tokens. #window-title says what the window covers: the last 24 h, or the time
 * since the gateway started when that is shorter (the per-minute series is kept in memory).
 * Cache quality (the stats' `cache` part): #bound-panel (error-bound mode, hidden until a
 * namespace has error-bound lookups or feedback) with #chart-bound (per namespace a bar of the
 * observed wrong-answer rate and a line at the bound, `data-namespace` on each), #verify-calls,
 * #verify-skipped,
 * #verify-cost and the #bound-table; #threshold-panel (threshold mode, hidden until it has
 * lookups) with #chart-scores (one rect per non-empty bin and kind, `data-kind` hit|miss,
 * `data-bin`, `data-count`), the threshold line, and the #rejections table.
 * The root element's `data-state` is "loading", "ready", "auth"
 * (the server wants the admin key) or "error"; `data-refreshes` counts successful loads.
 */

export interface DashboardPageOptions {
  /** Where the stats JSON is, relative to the page's origin. Default "/v1/gateway/stats". */
  statsPath?: string;
  /** Milliseconds between refreshes. Default 5000. */
  refreshMs?: number;
}

/** sessionStorage key of the admin key the user typed. */
export const ADMIN_KEY_STORAGE = 'semcache.adminKey';

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#677084; --line:#e1e4ea; --hit:#1f9d55; --sem:#2b7bd6; --miss:#d9822b; --bad:#c0392b; }
* { box-sizing: border-box; }
[hidden] { display:none !important; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:var(--card); border-bottom:1px solid var(--line); }
header h1 { font-size:18px; margin:0; }
#status { color:var(--muted); }
#status.error { color:var(--bad); }
main { padding:16px 24px 32px; display:grid; gap:16px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(150px, 1fr)); gap:12px; }
.card, section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:22px; font-weight:600; margin-top:4px; font-variant-numeric:tabular-nums; }
.card.saving .value { color:var(--hit); }
.window-title { font-size:13px; color:var(--muted); margin:0 0 -6px; }
.window-title b { color:var(--ink); font-weight:600; }
.row { display:grid; grid-template-columns:repeat(auto-fit, minmax(380px, 1fr)); gap:16px; }
section h2 { font-size:14px; margin:0 0 8px; }
svg.chart { width:100%; height:200px; display:block; }
svg.chart text { font-size:10px; fill:var(--muted); }
svg.chart .grid { stroke:var(--line); stroke-width:1; }
svg.chart .empty { font-size:12px; }
.legend { display:flex; gap:14px; color:var(--muted); font-size:12px; margin-top:4px; }
.legend i { display:inline-block; width:10px; height:3px; margin-right:5px; vertical-align:middle; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--muted); font-weight:500; font-size:12px; }
td.num, th.num { text-align:right; }
td.prompt { white-space:normal; max-width:420px; overflow-wrap:anywhere; color:var(--muted); }
.badge { padding:1px 6px; border-radius:9px; font-size:12px; color:#fff; }
.badge.hit { background:var(--hit); } .badge.semantic-hit { background:var(--sem); } .badge.miss { background:var(--miss); } .badge.bypass { background:var(--muted); }
.note { color:var(--muted); font-size:12px; margin:4px 0 8px; }
.scroll { overflow-x:auto; }
#bound-table th, #bound-table td { padding:5px 4px; }
.panel-cards { display:flex; flex-wrap:wrap; gap:24px; margin:4px 0 8px; }
.panel-cards .value { font-size:18px; font-weight:600; font-variant-numeric:tabular-nums; }
.panel-cards .label { color:var(--muted); font-size:12px; }
td.over { color:var(--bad); font-weight:600; }
#auth { display:none; }
html[data-state="auth"] #auth { display:block; }
#auth form { display:flex; gap:8px; align-items:center; }
#auth input { padding:6px 8px; border:1px solid var(--line); border-radius:6px; min-width:280px; }
button { padding:6px 12px; border:1px solid var(--line); border-radius:6px; background:var(--card); cursor:pointer; }
#auth-message { color:var(--bad); margin-left:8px; }
`;

const BODY = `
<header>
  <h1>Semantic cache gateway</h1>
  <span id="status">loading…</span>
  <span style="flex:1"></span>
  <button id="forget-key" type="button" hidden>Forget admin key</button>
</header>
<main>
  <section id="auth">
    <h2>Admin key required</h2>
    <form id="auth-form">
      <input id="admin-key" type="password" autocomplete="off" placeholder="ADMIN_API_KEY" aria-label="Admin API key">
      <button id="save-key" type="submit">Show stats</button>
      <span id="auth-message"></span>
    </form>
  </section>
  <h2 class="window-title" id="window-title">Last 24 h</h2>
  <div class="cards">
    <div class="card"><div class="label">Requests</div><div class="value" id="total-requests">–</div></div>
    <div class="card"><div class="label">Hit ratio</div><div class="value" id="hit-ratio">–</div></div>
    <div class="card"><div class="label">Exact hits</div><div class="value" id="exact-hits">–</div></div>
    <div class="card"><div class="label">Semantic hits</div><div class="value" id="semantic-hits">–</div></div>
    <div class="card"><div class="label">Misses</div><div class="value" id="misses">–</div></div>
    <div class="card"><div class="label">Errors</div><div class="value" id="errors">–</div></div>
    <div class="card saving"><div class="label">Saved</div><div class="value" id="saved-usd">–</div></div>
    <div class="card saving"><div class="label">Tokens saved</div><div class="value" id="saved-tokens">–</div></div>
    <div class="card"><div class="label">Spent</div><div class="value" id="cost-usd">–</div></div>
    <div class="card"><div class="label">Tokens spent</div><div class="value" id="spent-tokens">–</div></div>
    <div class="card"><div class="label">Latency p50</div><div class="value" id="p50-ms">–</div></div>
    <div class="card"><div class="label">Latency p95</div><div class="value" id="p95-ms">–</div></div>
  </div>
  <h2 class="window-title" id="lifetime-title" hidden><b>Lifetime</b> · persisted totals, kept across restarts</h2>
  <div class="cards" id="lifetime-cards" hidden>
    <div class="card"><div class="label">Requests</div><div class="value" id="lifetime-requests">–</div></div>
    <div class="card"><div class="label">Hit ratio</div><div class="value" id="lifetime-hit-ratio">–</div></div>
    <div class="card saving"><div class="label">Saved</div><div class="value" id="lifetime-saved-usd">–</div></div>
    <div class="card saving"><div class="label">Tokens saved</div><div class="value" id="lifetime-saved-tokens">–</div></div>
    <div class="card"><div class="label">Spent</div><div class="value" id="lifetime-cost-usd">–</div></div>
  </div>
  <div class="row">
    <section><h2>Hit ratio per minute</h2><svg class="chart" id="chart-hit-ratio" role="img" aria-label="Hit ratio over time"></svg>
      <div class="legend"><span><i style="background:var(--hit)"></i>hits / (hits + misses)</span></div></section>
    <section><h2>Latency per minute</h2><svg class="chart" id="chart-latency" role="img" aria-label="Latency over time"></svg>
      <div class="legend"><span><i style="background:var(--sem)"></i>p50</span><span><i style="background:var(--bad)"></i>p95</span></div></section>
    <section><h2>Savings and spend, cumulative</h2><svg class="chart" id="chart-savings" role="img" aria-label="Savings over time"></svg>
      <div class="legend"><span><i style="background:var(--hit)"></i>saved $</span><span><i style="background:var(--miss)"></i>spent $</span></div></section>
  </div>
  <div class="row">
    <section id="bound-panel" hidden>
      <h2>Error-bound mode: observed wrong-answer rate against the bound</h2>
      <p class="note">Per namespace, since the gateway started: wrong over all checks of a cached answer (verification calls compare the best uncertain candidate with the fresh answer; feedback labels a served one).</p>
      <div class="panel-cards">
        <div><div class="label">Verification calls</div><div class="value" id="verify-calls">–</div></div>
        <div><div class="label">Their cost</div><div class="value" id="verify-cost">–</div></div>
        <div><div class="label">Checks (wrong)</div><div class="value" id="bound-checks">–</div></div>
        <div><div class="label">Skipped (cap)</div><div class="value" id="verify-skipped">–</div></div>
      </div>
      <svg class="chart" id="chart-bound" role="img" aria-label="Observed error against the bound per namespace"></svg>
      <div class="legend"><span><i style="background:var(--sem)"></i>observed error</span><span><i style="background:var(--bad)"></i>above the bound</span><span><i style="background:var(--ink)"></i>bound</span></div>
      <div class="scroll"><table id="bound-table"><thead><tr><th>Namespace</th><th class="num">Bound</th><th class="num">Observed</th><th class="num">Checks</th><th class="num">Hit ratio</th><th class="num">Verified</th><th class="num">Cost</th><th class="num">Labels ✓/✗</th></tr></thead><tbody></tbody></table></div>
    </section>
    <section id="threshold-panel" hidden>
      <h2>Threshold mode: nearest-entry scores</h2>
      <p class="note" id="threshold-note">Every semantic lookup's nearest candidate, by score, since the gateway started.</p>
      <svg class="chart" id="chart-scores" role="img" aria-label="Nearest-entry scores of hits and misses"></svg>
      <div class="legend"><span><i style="background:var(--sem)"></i>semantic hits</span><span><i style="background:var(--miss)"></i>misses</span><span><i style="background:var(--ink)"></i>threshold</span></div>
      <h2 style="margin-top:12px">Rejected candidates by reason</h2>
      <table id="rejections"><thead><tr><th>Reason</th><th class="num">Candidates</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
  <section>
    <h2>Top models</h2>
    <table id="top-models"><thead><tr><th>Model</th><th class="num">Requests</th><th class="num">Hit ratio</th><th class="num">Saved</th><th class="num">Spent</th><th class="num">Tokens saved</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Guardrail decisions <small>since start</small></h2>
    <table id="guardrails"><thead><tr><th>Stage</th><th>Check</th><th>Action</th><th class="num">Decisions</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Recent requests</h2>
    <table id="recent"><thead><tr><th>Time</th><th>Request</th><th>Tenant</th><th>Model</th><th>Cache</th><th class="num">Status</th><th class="num">Similarity</th><th class="num">Latency</th><th class="num">Cost</th><th class="num">Saved</th><th class="prompt-col" hidden>Prompt</th></tr></thead><tbody></tbody></table>
  </section>
</main>
`;

// Plain browser JavaScript (no build step, no modules): it must run as served.
const SCRIPT = String.raw`
(function () {
  'use strict';
  var CONFIG = JSON.parse(document.getElementById('dashboard-config').textContent);
  var KEY_STORAGE = CONFIG.keyStorage;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var root = document.documentElement;
  var refreshes = 0;
  var timer = null;

  function $(id) { return document.getElementById(id); }

  // Formats, also relied on by the browser test: integers with thousands separators, ratios as a
  // percentage with one decimal, dollars with 2 decimals from $1 up and 4 significant digits below.
  function fmtInt(n) { return Math.round(n).toLocaleString('en-US'); }
  function fmtRatio(r) { return r === null || r === undefined ? '–' : (r * 100).toFixed(1) + '%'; }
  function fmtUsd(x) {
    if (!x) return '$0.00';
    if (Math.abs(x) >= 1) return '$' + x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return '$' + Number(x.toPrecision(4)).toString();
  }
  // A dollar tick: as many decimals as the tick step needs (at least 2), the same on every tick.
  function fmtUsdTick(x, decimals) {
    return '$' + x.toLocaleString('en-US', { minimumFractionDigits: Math.max(2, decimals), maximumFractionDigits: Math.max(2, decimals) });
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return '–';
    if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
    return (ms >= 10 ? ms.toFixed(0) : ms.toFixed(1)) + ' ms';
  }
  // Money in a table column: one number of decimals for the whole column (enough for 3 significant
  // digits of its smallest non-zero amount, 2 to 8), so the amounts line up and compare at a glance;
  // nothing is shown as "–".
  function usdColumn(values) {
    var d = 2;
    values.forEach(function (x) {
      if (x > 0 && x < 1) d = Math.max(d, Math.min(8, 2 - Math.floor(Math.log10(x))));
    });
    return function (x) {
      if (!x) return '–';
      return '$' + x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
    };
  }
  // Axis ticks at round steps (1, 2, 2.5 or 5 x 10^k) from 0 to the first tick at or above max;
  // decimals is what a label needs to show the step exactly.
  function niceTicks(max, count) {
    if (!(max > 0)) max = 1;
    var raw = max / count, e = Math.floor(Math.log10(raw)), mag = Math.pow(10, e);
    var m = [1, 2, 2.5, 5, 10].filter(function (k) { return k * mag >= raw * (1 - 1e-9); })[0];
    var step = m * mag;
    var ticks = [0];
    while (ticks[ticks.length - 1] < max * (1 - 1e-9)) ticks.push(ticks.length * step);
    var decimals = Math.max(0, m === 10 ? -(e + 1) : -e + (m === 2.5 ? 1 : 0));
    return { ticks: ticks, decimals: decimals };
  }
  function fmtTime(iso) { var d = new Date(iso); return d.toTimeString().slice(0, 8); }
  function fmtHm(ms) { return new Date(ms).toTimeString().slice(0, 5); }

  function setNumber(id, raw, text) {
    var el = $(id);
    el.textContent = text;
    el.setAttribute('data-value', raw === null || raw === undefined ? '' : String(raw));
  }

  function setStatus(text, isError) {
    var s = $('status');
    s.textContent = text;
    s.className = isError ? 'error' : '';
  }

  function svgEl(name, attrs, text) {
    var el = document.createElementNS(SVG_NS, name);
    for (var k in attrs) el.setAttribute(k, String(attrs[k]));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // A line chart over time. series: [{ color, values: [{ t: ms, v: number|null }] }]. Points more
  // than one minute apart are not joined (a quiet minute is a gap, not a slope) unless opts.joinGaps.
  // opts.log draws a log10 axis: latency spans 0.5 ms hits to multi-second misses.
  function drawChart(svg, series, opts) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    // Drawn in CSS pixels so that text is never stretched.
    var W = Math.max(svg.clientWidth || 600, 200), H = svg.clientHeight || 200, L = 40, R = 10, T = 10, B = 22;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var all = [];
    series.forEach(function (s) { s.values.forEach(function (p) { if (p.v !== null && isFinite(p.v) && (!opts.log || p.v > 0)) all.push(p); }); });
    if (all.length === 0) {
      svg.appendChild(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'no data yet'));
      return;
    }
    var t0 = Math.min.apply(null, all.map(function (p) { return p.t; }));
    var t1 = Math.max.apply(null, all.map(function (p) { return p.t; })) + 60000;
    var vals = all.map(function (p) { return p.v; });
    var ticks = [], y;
    if (opts.log) {
      var e0 = Math.floor(Math.log10(Math.min.apply(null, vals)));
      var e1 = Math.max(Math.ceil(Math.log10(Math.max.apply(null, vals))), e0 + 1);
      for (var e = e0; e <= e1; e++) ticks.push(Math.pow(10, e));
      y = function (v) { return T + (1 - (Math.log10(v) - e0) / (e1 - e0)) * (H - T - B); };
    } else {
      var nice = opts.yMax !== undefined ? { ticks: [0, 0.25, 0.5, 0.75, 1].map(function (f) { return f * opts.yMax; }), decimals: 2 } : niceTicks(Math.max.apply(null, vals), 4);
      ticks = nice.ticks;
      var yMax = ticks[ticks.length - 1];
      var tickDecimals = nice.decimals;
      y = function (v) { return T + (1 - v / yMax) * (H - T - B); };
    }
    var labels = ticks.map(function (v) { return opts.yFormat(v, tickDecimals); });
    // The axis is as wide as its longest label (10 px text, about 6 px a character): none is clipped.
    L = Math.max(L, 10 + 6 * Math.max.apply(null, labels.map(function (t) { return t.length; })));
    var x = function (t) { return L + ((t - t0) / (t1 - t0)) * (W - L - R); };
    ticks.forEach(function (v, i) {
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
      svg.appendChild(svgEl('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, labels[i]));
    });
    svg.appendChild(svgEl('text', { x: L, y: H - 6 }, fmtHm(t0)));
    svg.appendChild(svgEl('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, fmtHm(t1)));
    series.forEach(function (s) {
      var run = [];
      var flush = function () {
        if (run.length > 1) {
          svg.appendChild(svgEl('polyline', { points: run.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2, 'stroke-linejoin': 'round' }));
        }
        run = [];
      };
      var prevT = null;
      s.values.forEach(function (p) {
        if (p.v === null || !isFinite(p.v) || (opts.log && p.v <= 0)) { flush(); prevT = null; return; }
        if (!opts.joinGaps && prevT !== null && p.t - prevT > 60000) flush();
        var px = x(p.t + 30000), py = y(p.v);
        run.push(px.toFixed(1) + ',' + py.toFixed(1));
        svg.appendChild(svgEl('circle', { cx: px.toFixed(1), cy: py.toFixed(1), r: 2.2, fill: s.color }));
        prevT = p.t;
      });
      flush();
    });
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  var lastSnapshot = null;
  window.addEventListener('resize', function () { if (lastSnapshot) render(lastSnapshot); });

  function render(s) {
    lastSnapshot = s;
    var tot = s.totals;
    setNumber('total-requests', tot.requests, fmtInt(tot.requests));
    setNumber('hit-ratio', tot.hitRatio, fmtRatio(tot.hitRatio));
    setNumber('exact-hits', tot.hits, fmtInt(tot.hits));
    setNumber('semantic-hits', tot.semanticHits, fmtInt(tot.semanticHits));
    setNumber('misses', tot.misses, fmtInt(tot.misses));
    setNumber('errors', tot.errors, fmtInt(tot.errors));
    setNumber('saved-usd', tot.savedUsd, fmtUsd(tot.savedUsd));
    setNumber('saved-tokens', tot.savedTokens, fmtInt(tot.savedTokens));
    setNumber('cost-usd', tot.costUsd, fmtUsd(tot.costUsd));
    setNumber('spent-tokens', tot.promptTokens + tot.completionTokens, fmtInt(tot.promptTokens + tot.completionTokens));
    setNumber('p50-ms', tot.p50Ms, fmtMs(tot.p50Ms));
    setNumber('p95-ms', tot.p95Ms, fmtMs(tot.p95Ms));
    var started = s.startedAt ? Date.parse(s.startedAt) : NaN;
    $('window-title').textContent = isFinite(started) && started > Date.parse(s.from)
      ? 'Since the gateway started at ' + fmtHm(started) + ' (per-minute figures are kept in memory, up to 24 h)'
      : 'Last ' + Math.round(s.windowMinutes / 60) + ' h';
    var life = s.lifetime;
    $('lifetime-title').hidden = $('lifetime-cards').hidden = !life;
    if (life) {
      var lookups = life.hits + life.semanticHits + life.misses;
      var lifeRatio = lookups ? (life.hits + life.semanticHits) / lookups : null;
      setNumber('lifetime-requests', life.requests, fmtInt(life.requests));
      setNumber('lifetime-hit-ratio', lifeRatio, fmtRatio(lifeRatio));
      setNumber('lifetime-saved-usd', life.savedUsd, fmtUsd(life.savedUsd));
      setNumber('lifetime-saved-tokens', life.savedTokens, fmtInt(life.savedTokens));
      setNumber('lifetime-cost-usd', life.costUsd, fmtUsd(life.costUsd));
    }

    var pts = s.series.map(function (p) { return Object.assign({ ms: Date.parse(p.t) }, p); });
    drawChart($('chart-hit-ratio'), [
      { color: 'var(--hit)', values: pts.map(function (p) { return { t: p.ms, v: p.hitRatio }; }) },
    ], { yMax: 1, yFormat: function (v) { return Math.round(v * 100) + '%'; } });
    drawChart($('chart-latency'), [
      { color: 'var(--sem)', values: pts.map(function (p) { return { t: p.ms, v: p.p50Ms }; }) },
      { color: 'var(--bad)', values: pts.map(function (p) { return { t: p.ms, v: p.p95Ms }; }) },
    ], { yFormat: fmtMs, log: true });
    var saved = 0, spent = 0;
    var cumSaved = [], cumSpent = [];
    pts.forEach(function (p) {
      saved += p.savedUsd; spent += p.costUsd;
      cumSaved.push({ t: p.ms, v: saved }); cumSpent.push({ t: p.ms, v: spent });
    });
    // Cumulative totals stay flat across quiet minutes instead of leaving a gap.
    drawChart($('chart-savings'), [
      { color: 'var(--hit)', values: cumulativeSteps(cumSaved) },
      { color: 'var(--miss)', values: cumulativeSteps(cumSpent) },
    ], { yFormat: fmtUsdTick, joinGaps: true });

    renderCacheQuality(s.cache);

    var tbody = $('top-models').tBodies[0];
    tbody.textContent = '';
    var modelSaved = usdColumn(s.topModels.map(function (m) { return m.savedUsd; }));
    var modelSpent = usdColumn(s.topModels.map(function (m) { return m.costUsd; }));
    s.topModels.forEach(function (m) {
      var tr = document.createElement('tr');
      cell(tr, m.model);
      cell(tr, fmtInt(m.requests), 'num');
      cell(tr, fmtRatio(m.hitRatio), 'num');
      cell(tr, modelSaved(m.savedUsd), 'num');
      cell(tr, modelSpent(m.costUsd), 'num');
      cell(tr, fmtInt(m.savedTokens), 'num');
      tbody.appendChild(tr);
    });

    var gbody = $('guardrails').tBodies[0];
    gbody.textContent = '';
    (s.guardrails || []).forEach(function (g) {
      var tr = document.createElement('tr');
      cell(tr, g.stage);
      cell(tr, g.check);
      cell(tr, g.action);
      cell(tr, fmtInt(g.count), 'num');
      gbody.appendChild(tr);
    });
    if (!(s.guardrails || []).length) {
      var none = document.createElement('tr');
      cell(none, 'none yet (PROMPT_SCREENING, OUTPUT_MODERATION or GATEWAY_CONFIG guardrails)');
      gbody.appendChild(none);
    }

    var showPrompt = s.recent.some(function (r) { return typeof r.prompt === 'string'; });
    document.querySelector('#recent th.prompt-col').hidden = !showPrompt;
    var rbody = $('recent').tBodies[0];
    rbody.textContent = '';
    var recentCost = usdColumn(s.recent.map(function (r) { return r.costUsd; }));
    var recentSaved = usdColumn(s.recent.map(function (r) { return r.savedUsd; }));
    s.recent.forEach(function (r) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-request-id', r.requestId);
      cell(tr, fmtTime(r.t));
      cell(tr, r.requestId);
      cell(tr, r.tenant);
      cell(tr, r.model);
      var badge = document.createElement('span');
      badge.className = 'badge ' + r.cacheStatus;
      badge.textContent = r.cacheStatus;
      cell(tr, '').appendChild(badge);
      cell(tr, String(r.status), 'num');
      cell(tr, r.similarity === null ? '' : r.similarity.toFixed(3), 'num');
      cell(tr, fmtMs(r.latencyMs), 'num');
      cell(tr, recentCost(r.costUsd), 'num');
      cell(tr, recentSaved(r.savedUsd), 'num');
      if (showPrompt) cell(tr, r.prompt || '', 'prompt');
      rbody.appendChild(tr);
    });
  }

  function fmtPct(r) { return r === null || r === undefined ? '–' : (r * 100).toFixed(2) + '%'; }

  function renderCacheQuality(c) {
    var namespaces = c && c.namespaces ? c.namespaces : [];
    var th = c && c.threshold ? c.threshold : null;
    $('bound-panel').hidden = namespaces.length === 0;
    $('threshold-panel').hidden = !th || (th.lookups === 0 && th.rejections.length === 0);
    if (namespaces.length) renderBound(namespaces);
    if (th && !$('threshold-panel').hidden) renderScores(th);
  }

  function renderBound(namespaces) {
    var calls = 0, cost = 0, checks = 0, wrong = 0, skipped = 0;
    namespaces.forEach(function (n) { calls += n.verification.calls; cost += n.verification.costUsd; checks += n.observations; wrong += n.wrong; skipped += n.verification.skipped; });
    setNumber('verify-skipped', skipped, fmtInt(skipped));
    setNumber('verify-calls', calls, fmtInt(calls));
    setNumber('verify-cost', cost, fmtUsd(cost));
    setNumber('bound-checks', checks, fmtInt(checks) + ' (' + fmtInt(wrong) + ')');
    var tbody = $('bound-table').tBodies[0];
    tbody.textContent = '';
    var costCol = usdColumn(namespaces.map(function (n) { return n.verification.costUsd; }));
    namespaces.forEach(function (n) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-namespace', n.namespace);
      cell(tr, n.namespace);
      cell(tr, fmtPct(n.maxErrorRate), 'num');
      var over = n.observedErrorRate !== null && n.maxErrorRate !== null && n.observedErrorRate > n.maxErrorRate;
      cell(tr, fmtPct(n.observedErrorRate), over ? 'num over' : 'num');
      cell(tr, fmtInt(n.observations), 'num');
      cell(tr, fmtRatio(n.hitRatio), 'num');
      cell(tr, fmtInt(n.verification.calls), 'num');
      cell(tr, costCol(n.verification.costUsd), 'num');
      cell(tr, fmtInt(n.feedback.correct) + ' / ' + fmtInt(n.feedback.wrong), 'num');
      tbody.appendChild(tr);
    });
    drawBoundChart($('chart-bound'), namespaces.slice(0, 12));
  }

  // Per namespace: a bar of the observed rate (red above the bound) and a line at the bound.
  function drawBoundChart(svg, namespaces) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var W = Math.max(svg.clientWidth || 600, 200), H = svg.clientHeight || 200, R = 10, T = 10, B = 22;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var top = 0;
    namespaces.forEach(function (n) { top = Math.max(top, n.maxErrorRate || 0, n.observedErrorRate || 0); });
    var nice = niceTicks(top > 0 ? top : 0.01, 4);
    var yMax = nice.ticks[nice.ticks.length - 1];
    var labels = nice.ticks.map(function (v) { return (v * 100).toFixed(Math.max(0, nice.decimals - 2)) + '%'; });
    var L = Math.max(40, 10 + 6 * Math.max.apply(null, labels.map(function (t) { return t.length; })));
    var y = function (v) { return T + (1 - v / yMax) * (H - T - B); };
    nice.ticks.forEach(function (v, i) {
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
      svg.appendChild(svgEl('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, labels[i]));
    });
    var slot = (W - L - R) / namespaces.length, bw = Math.min(48, slot * 0.6);
    namespaces.forEach(function (n, i) {
      var cx = L + slot * (i + 0.5);
      if (n.observedErrorRate !== null) {
        var over = n.maxErrorRate !== null && n.observedErrorRate > n.maxErrorRate;
        var bar = svgEl('rect', { x: (cx - bw / 2).toFixed(1), y: y(n.observedErrorRate).toFixed(1), width: bw.toFixed(1), height: Math.max(0, y(0) - y(n.observedErrorRate)).toFixed(1), fill: over ? 'var(--bad)' : 'var(--sem)', class: 'observed', 'data-namespace': n.namespace, 'data-value': n.observedErrorRate });
        bar.appendChild(svgEl('title', {}, n.namespace + ': ' + fmtPct(n.observedErrorRate) + ' wrong of ' + fmtInt(n.observations) + ' checks'));
        svg.appendChild(bar);
      }
      if (n.maxErrorRate !== null) {
        svg.appendChild(svgEl('line', { x1: (cx - bw / 2 - 6).toFixed(1), x2: (cx + bw / 2 + 6).toFixed(1), y1: y(n.maxErrorRate).toFixed(1), y2: y(n.maxErrorRate).toFixed(1), stroke: 'var(--ink)', 'stroke-width': 2, 'stroke-dasharray': '4 2', class: 'bound', 'data-namespace': n.namespace, 'data-value': n.maxErrorRate }));
      }
      var name = n.namespace.length > 14 ? n.namespace.slice(0, 13) + '…' : n.namespace;
      svg.appendChild(svgEl('text', { x: cx.toFixed(1), y: H - 6, 'text-anchor': 'middle' }, name));
    });
  }

  // Histogram of nearest scores: hits and misses side by side in each bin, the threshold as a line.
  function renderScores(th) {
    var svg = $('chart-scores');
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var W = Math.max(svg.clientWidth || 600, 200), H = svg.clientHeight || 200, L = 40, R = 10, T = 10, B = 22;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var bins = th.bins, most = 0;
    for (var i = 0; i < bins; i++) most = Math.max(most, th.hitScores[i], th.missScores[i]);
    // Counts: whole-number steps.
    var nice = niceTicks(Math.max(most, 4), 4);
    var yMax = nice.ticks[nice.ticks.length - 1];
    L = Math.max(L, 10 + 6 * String(fmtInt(yMax)).length);
    var y = function (v) { return T + (1 - v / yMax) * (H - T - B); };
    var x = function (score) { return L + score * (W - L - R); };
    nice.ticks.forEach(function (v) {
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
      svg.appendChild(svgEl('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, fmtInt(v)));
    });
    var bw = (W - L - R) / bins;
    [['hit', th.hitScores, 'var(--sem)', 0], ['miss', th.missScores, 'var(--miss)', 1]].forEach(function (k) {
      k[1].forEach(function (count, b) {
        if (!count) return;
        var rect = svgEl('rect', { x: (x(b / bins) + 1 + k[3] * (bw - 2) / 2).toFixed(1), y: y(count).toFixed(1), width: ((bw - 2) / 2).toFixed(1), height: Math.max(0, y(0) - y(count)).toFixed(1), fill: k[2], 'data-kind': k[0], 'data-bin': b, 'data-count': count });
        rect.appendChild(svgEl('title', {}, (k[0] === 'hit' ? 'hits' : 'misses') + ' at ' + (b / bins).toFixed(2) + '–' + ((b + 1) / bins).toFixed(2) + ': ' + fmtInt(count)));
        svg.appendChild(rect);
      });
    });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      svg.appendChild(svgEl('text', { x: x(v).toFixed(1), y: H - 6, 'text-anchor': v === 0 ? 'start' : v === 1 ? 'end' : 'middle' }, v.toFixed(2)));
    });
    if (th.threshold !== null) {
      svg.appendChild(svgEl('line', { x1: x(th.threshold).toFixed(1), x2: x(th.threshold).toFixed(1), y1: T, y2: y(0), stroke: 'var(--ink)', 'stroke-width': 2, 'stroke-dasharray': '4 2', class: 'threshold', 'data-value': th.threshold }));
    }
    $('threshold-note').textContent = 'Every semantic lookup\'s nearest candidate, by score, since the gateway started: ' +
      fmtInt(th.semanticHits) + ' semantic hits, ' + fmtInt(th.misses) + ' misses (' + fmtInt(th.noCandidate) + ' with no candidate), ' + fmtInt(th.exactHits) + ' exact hits' +
      (th.threshold !== null ? '; default threshold ' + th.threshold.toFixed(3) : '') + '.';
    var tbody = $('rejections').tBodies[0];
    tbody.textContent = '';
    th.rejections.forEach(function (r) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-reason', r.reason);
      cell(tr, r.reason);
      cell(tr, fmtInt(r.count), 'num');
      tbody.appendChild(tr);
    });
  }

  // Steps at each minute that had traffic, flat in between.
  function cumulativeSteps(vals) {
    var out = [];
    vals.forEach(function (p, i) {
      if (i > 0 && p.t - vals[i - 1].t > 60000) out.push({ t: p.t - 60000, v: vals[i - 1].v });
      out.push(p);
    });
    return out;
  }

  function storedKey() {
    try { return sessionStorage.getItem(KEY_STORAGE) || ''; } catch (e) { return ''; }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(load, CONFIG.refreshMs);
  }

  function load() {
    var key = storedKey();
    var headers = { Accept: 'application/json' };
    if (key) headers.Authorization = 'Bearer ' + key;
    fetch(CONFIG.statsPath, { headers: headers, cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (res.status === 401 || res.status === 403) {
          root.setAttribute('data-state', 'auth');
          $('auth-message').textContent = key ? 'That key was not accepted.' : '';
          if (key) { try { sessionStorage.removeItem(KEY_STORAGE); } catch (e) { /* private mode */ } }
          $('forget-key').hidden = true;
          setStatus('admin key required', true);
          $('admin-key').focus();
          return null; // no polling until a key is given
        }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json().then(function (snap) {
          render(snap);
          refreshes++;
          root.setAttribute('data-refreshes', String(refreshes));
          root.setAttribute('data-state', 'ready');
          $('forget-key').hidden = !key;
          setStatus('updated ' + fmtTime(snap.generatedAt), false);
          schedule();
        });
      })
      .catch(function (err) {
        root.setAttribute('data-state', 'error');
        setStatus('could not load stats: ' + (err && err.message ? err.message : err), true);
        schedule();
      });
  }

  $('auth-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var key = $('admin-key').value.trim();
    if (!key) return;
    try { sessionStorage.setItem(KEY_STORAGE, key); } catch (err) { /* private mode: key lives for this load only */ }
    $('admin-key').value = '';
    root.setAttribute('data-state', 'loading');
    load();
  });
  $('forget-key').addEventListener('click', function () {
    try { sessionStorage.removeItem(KEY_STORAGE); } catch (e) { /* ignore */ }
    load();
  });

  load();
})();
`;

/** JSON inside a <script> element: `<` escaped so no value can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function dashboardPage(options: DashboardPageOptions = {}): string {
  const config = {
    statsPath: options.statsPath ?? '/v1/gateway/stats',
    refreshMs: options.refreshMs ?? 5000,
    keyStorage: ADMIN_KEY_STORAGE,
  };
  return `<!doctype html>
<html lang="en" data-state="loading" data-refreshes="0">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Semantic cache gateway · dashboard</title>
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script type="application/json" id="dashboard-config">${scriptJson(config)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** The page with default options, for GET /dashboard. */
export const DASHBOARD_HTML = dashboardPage();
