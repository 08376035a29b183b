// flowlake's web UI: the dashboards, "VPC-Flow-Log-Analysis" by default.
//
// A plain ES module, no framework. A dashboard is data (docs/ui.md): a JSON
// document of widgets -- type, title, metric(s) and dimension filter or
// SQL, size and position on a 12-column grid, options -- read from
// GET /api/dashboards/NAME (the default one is web/dashboard-default.json,
// embedded in the binary), drawn here, edited here (the Edit button) and
// saved back with PUT, exported and imported as a file.
//
// The dashboard state is in the URL's hash (so a URL can be shared and
// survives a reload). A refresh costs the server little: every metric
// widget of the page is read in ONE POST /api/metrics/batch (the tables
// as sums over the range with aggregate=sum&top=N, from the built-in
// metrics), plus /api/status and the alarms; no SQL worker unless the
// dashboard has an `sql` widget (POST /api/query). Series are drawn with
// uPlot (loaded before this module by index.html). When the server has a
// read key, every API call carries it as "Authorization: Bearer KEY"; on a
// 401 the page asks for the key (common.js), and for the admin key when a
// save is refused.

import {
  $, $$, el, prefs, protoName, parseTime, isoZ, fmtNum, fmtBytes, fmtTime,
  axisTime, fmtDur, api, authFetch, sql, navBar,
} from './common.js';

const uPlot = window.uPlot;

const RANGES = { '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800, '30d': 2592000 };
const REFRESHES = [0, 10, 30, 60, 300];
const WINDOW = 900;          // the built-in metrics' 15-minute windows
const INGEST_SPAN = 6 * 3600; // records_in is per minute: at most 6 h of it
const TOP_N = 10;
const BATCH_MAX = 32;        // reads in one POST /api/metrics/batch
const SQL_ROWS = 100;        // rows an sql widget shows
const DEFAULT_DASH = 'VPC-Flow-Log-Analysis';
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
const PALETTE = ['#4ea1ff', '#f5a623', '#7ed321', '#bd10e0', '#50e3c2',
                 '#e94f37', '#b8e986', '#9013fe', '#f8e71c', '#8b572a'];

// ---- state and URL -------------------------------------------------------

const state = { range: '24h', from: null, to: null, tz: 'utc', refresh: 30, protos: null,
                dashboard: DEFAULT_DASH };

function readState() {
  const h = new URLSearchParams(location.hash.slice(1));
  state.range = '24h';
  state.from = state.to = null;
  const r = h.get('range');
  if (r in RANGES) state.range = r;
  if (r === 'custom' || (r == null && h.has('from'))) {
    const from = parseTime(h.get('from'));
    const to = parseTime(h.get('to'));
    if (from != null && to != null && to > from) {
      state.range = 'custom';
      state.from = from;
      state.to = to;
    }
  }
  state.tz = h.get('tz') === 'local' ? 'local' : 'utc';
  const ref = Number(h.get('refresh'));
  state.refresh = h.has('refresh') && REFRESHES.includes(ref) ? ref : 30;
  state.protos = h.has('protos')
    ? h.get('protos').split(',').filter((x) => /^\d+$/.test(x)).map(Number)
    : null;
  const d = h.get('dashboard');
  state.dashboard = d && NAME_RE.test(d) ? d : DEFAULT_DASH;
}

function writeState() {
  const h = new URLSearchParams();
  h.set('range', state.range);
  if (state.range === 'custom') {
    h.set('from', isoZ(state.from));
    h.set('to', isoZ(state.to));
  }
  h.set('tz', state.tz);
  h.set('refresh', String(state.refresh));
  if (state.protos != null) h.set('protos', state.protos.join(','));
  h.set('dashboard', state.dashboard);
  // replaceState: no hashchange event, no history entry per click.
  history.replaceState(null, '', '#' + h.toString().replace(/%3A/g, ':').replace(/%2C/g, ','));
}

function span() {
  if (state.range === 'custom') return { from: state.from, to: state.to };
  const to = Math.floor(Date.now() / 1000);
  return { from: to - RANGES[state.range], to };
}

// ---- formatting ------------------------------------------------------------

// ---- charts ------------------------------------------------------------------

const charts = {};

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// Every window start in [from, to) up to now, the metric's points placed
// on them; a window with no point is 0 (no record counted), final once
// its end is at or before finalUntil.
function grid(points, from, to, step, finalUntil) {
  const now = Math.floor(Date.now() / 1000);
  const xs = [];
  for (let w = Math.ceil(from / step) * step; w < to && w <= now; w += step) xs.push(w);
  const at = new Map(points.map((p) => [parseTime(p.window_start), p]));
  const vals = xs.map((x) => (at.has(x) ? at.get(x).value ?? 0 : 0));
  const finals = xs.map((x) => (at.has(x) ? at.get(x).final
    : finalUntil == null || x + step <= finalUntil));
  return { xs, vals, finals };
}

// Final values as a solid line, provisional ones dashed (joined to the
// last final value so the line does not break).
function split(vals, finals) {
  const solid = vals.map((v, i) => (finals[i] ? v : null));
  const dashed = vals.map((v, i) => (!finals[i] || (i + 1 < vals.length && !finals[i + 1]) ? v : null));
  return [solid, dashed];
}

function drawChart(name, card, xs, lines, height, empty = 'no windows in this range') {
  const box = $('.chart', card);
  charts[name]?.destroy();
  delete charts[name];
  box.textContent = '';
  if (xs.length === 0) {
    box.append(el('p', { class: 'empty', text: empty }));
    return;
  }
  const data = [xs];
  const series = [{}];
  let firstProv = null;
  let drawn = 'line';
  for (const l of lines) {
    // Bars do not join: each value is drawn once, solid or provisional.
    const [solid, dashed] = l.bars
      ? [l.vals.map((v, i) => (l.finals[i] ? v : null)), l.vals.map((v, i) => (l.finals[i] ? null : v))]
      : split(l.vals, l.finals);
    const i = l.finals.indexOf(false);
    if (i >= 0 && (firstProv == null || xs[i] < firstProv)) firstProv = xs[i];
    data.push(solid, dashed);
    const pts = { show: xs.length <= 200, size: 4 };
    // A bar widget (options.chart = "bar"): the same two series as bars,
    // the provisional ones paler.
    const bars = l.bars && uPlot.paths?.bars ? uPlot.paths.bars({ size: [0.6, 60] }) : null;
    if (bars) {
      drawn = 'bar';
      series.push({ label: l.label, stroke: l.color, fill: l.color, width: 1, paths: bars, points: { show: false } },
                  { label: `${l.label} (provisional)`, stroke: l.color, fill: css('--prov') || l.color,
                    width: 1, dash: [4, 3], paths: bars, points: { show: false } });
    } else {
      series.push({ label: l.label, stroke: l.color, width: 2, points: pts },
                  { label: `${l.label} (provisional)`, stroke: l.color, width: 2,
                    dash: [6, 4], points: { show: true, size: 6, fill: css('--card') } });
    }
  }
  const barPad = (xs.length > 1 ? xs[1] - xs[0] : WINDOW) / 2;
  const dim = css('--dim'), line = css('--line');
  const axis = { stroke: dim, grid: { stroke: line, width: 1 }, ticks: { stroke: line } };
  // 24-hour clock labels in the chosen zone; the date too past one day.
  const long = xs[xs.length - 1] - xs[0] > 86400;
  const xaxis = { ...axis, values: (u, splits) => splits.map((t) => axisTime(t, long)) };
  const opts = {
    width: Math.max(200, box.clientWidth || 600),
    height: chartHeight(height),
    series,
    legend: { show: false },
    // Bars are centred on their window's start: half a window more on
    // each side, or the first and last bars would be cut in half.
    scales: { x: drawn === 'bar' ? { time: true, range: (u, lo, hi) => [lo - barPad, hi + barPad] } : { time: true },
              y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.05 : 1] } },
    axes: [xaxis, { ...axis, size: 70 }],
    tzDate: state.tz === 'utc' ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC')
                               : (ts) => new Date(ts * 1000),
    cursor: { drag: { x: false, y: false } },
    hooks: {
      // Shade the open windows: their values still change.
      drawClear: [(u) => {
        if (firstProv == null) return;
        // (a bar's window starts at its left edge, half a window before)
        const x0 = Math.round(u.valToPos(firstProv - (drawn === 'bar' ? barPad : 0), 'x', true));
        const right = u.bbox.left + u.bbox.width;
        if (x0 >= right) return;
        u.ctx.save();
        u.ctx.fillStyle = css('--prov');
        u.ctx.fillRect(x0, u.bbox.top, right - x0, u.bbox.height);
        u.ctx.restore();
      }],
    },
  };
  charts[name] = new uPlot(opts, data, box);
  charts[name].baseHeight = height;
  // What the chart was drawn with (the bars path builder or lines): a bar
  // widget on a uPlot without uPlot.paths.bars says "line" (tests read it).
  card.dataset.chart = drawn;
}

function drawLegend(card, lines) {
  const lg = $('.legend', card);
  lg.textContent = '';
  for (const l of lines) {
    const total = l.vals.reduce((a, b) => a + b, 0);
    const prov = l.finals.some((f) => !f);
    const item = el('span', { 'data-series': l.id, 'data-total': String(total) },
      el('i'),
      `${l.label}: ${fmtNum(total)}${prov ? ' (incl. provisional)' : ''}`);
    item.querySelector('i').style.background = l.color;
    lg.append(item);
  }
}

// Taller charts on a tall screen (a NOC wall), never below base.
const chartHeight = (base) => Math.max(base, Math.round(window.innerHeight * (base / 1000)));

window.addEventListener('resize', () => {
  for (const u of Object.values(charts)) {
    const box = u.root.parentElement;
    if (box && box.clientWidth > 0) {
      u.setSize({ width: box.clientWidth, height: chartHeight(u.baseHeight) });
    }
  }
});

// ---- the dashboard document ---------------------------------------------------

let dash = null;       // the document drawn (edits change it in place)
let dirty = false;     // edited since loaded or saved
let editing = false;

const widgetId = (w, i) => (typeof w.id === 'string' && w.id ? w.id : `w${i}`);
// A widget's metrics: "metrics" (tables: the first orders, the others are
// further columns of the same statement), else "metric".
const metricsOf = (w) => (Array.isArray(w.metrics) && w.metrics.length ? w.metrics
  : typeof w.metric === 'string' && w.metric ? [w.metric] : []);
// The column a metric fills: its name after the statement's name
// (top_talkers_bytes -> bytes).
const colOf = (m) => m.slice(m.lastIndexOf('_') + 1);
const DIM_TEXT = { srcaddr: 'source', dstaddr: 'destination', action: 'action', protocol: 'protocol' };

// What each type draws into its card, below the title.
const BUILD = {
  metric(card, w) {
    if (w.options?.total) card.append(el('div', { class: 'figure' }, 'total ', el('b', { 'data-total': '', text: '–' })));
    card.append(el('div', { class: 'chart' }), el('div', { class: 'legend' }));
  },
  dimension_lines(card, w) {
    if (w.options?.picker) card.append(el('fieldset', { class: 'picker', ariaLabel: 'series shown' }));
    card.append(el('div', { class: 'chart' }), el('div', { class: 'legend' }));
  },
  actions(card, w) {
    card.append(el('table', {}, el('thead', {}, el('tr', {}, el('th', { text: 'action' }),
      ...metricsOf(w).map((m) => el('th', { text: colOf(m) })))), el('tbody')));
  },
  top(card, w) {
    card.append(el('table', {}, el('thead', {}, el('tr', {}, el('th', { text: '#' }),
      el('th', { class: 'dim', text: 'source' }),
      ...metricsOf(w).map((m) => el('th', { text: colOf(m) })))), el('tbody')));
  },
  ingest(card) {
    const f = [['rate', 'records in (per min, last)'], ['records', 'records accepted'],
      ['lag', 'ingest lag'], ['stream_lag', 'stream lag'], ['watermark', 'watermark (start)'],
      ['buffered', 'buffered']];
    card.append(el('dl', { class: 'figures' }, ...f.flatMap(([k, t]) => [el('dt', { text: t }),
      el('dd', { 'data-f': k, text: '–' })])), el('div', { class: 'chart small' }));
  },
  alarms(card, w) {
    card.append(el('ul', { class: 'alarms' }),
      el('h3', {}, 'History ', el('small', { text: `latest ${w.options?.history ?? 20} state changes, newest first` })),
      el('table', { class: 'history' }, el('thead', {}, el('tr', {},
        ...['time', 'alarm', 'change', 'reason'].map((t) => el('th', { text: t })))), el('tbody')));
  },
  sql(card) {
    card.append(el('div', { class: 'tablewrap' }, el('table', { class: 'sqlrows' }, el('thead'), el('tbody'))));
  },
};
const TYPES = Object.keys(BUILD);
const SUBTITLE = { metric: 'dashed = provisional', dimension_lines: 'dashed = provisional' };

// A new widget of a type, placed below the others.
function newWidget(type) {
  const y = Math.max(0, ...dash.widgets.map((w) => (w.y ?? 0) + (w.h ?? 1)));
  const used = new Set(dash.widgets.map(widgetId));
  let n = dash.widgets.length;
  while (used.has(`w${n}`)) n++;
  const base = { id: `w${n}`, type, title: type, w: 6, h: 3, x: 0, y };
  switch (type) {
    case 'metric': return { ...base, title: 'Records in', metric: 'records_in', options: { chart: 'line' } };
    case 'dimension_lines': return { ...base, title: 'Rejected packets per protocol',
      metric: 'rejected_packets_by_protocol', dims: { protocol: [] } };
    case 'actions': return { ...base, title: 'Accepted vs rejected',
      metrics: ['traffic_by_action_flows', 'traffic_by_action_bytes', 'traffic_by_action_packets'] };
    case 'top': return { ...base, title: 'Top talkers', metrics: ['top_talkers_bytes', 'top_talkers_flows'],
      options: { top: TOP_N } };
    case 'sql': return { ...base, title: 'Flows per action',
      sql: 'SELECT action, COUNT(*) AS flows FROM flow_logs GROUP BY action ORDER BY action' };
    case 'ingest': return { ...base, title: 'Ingest', metric: 'records_in' };
    default: return { ...base, title: 'Alarms' };
  }
}

function render() {
  for (const k of Object.keys(charts)) { charts[k].destroy(); delete charts[k]; }
  const main = $('#widgets');
  main.textContent = '';
  const title = typeof dash.title === 'string' && dash.title ? dash.title : state.dashboard;
  $('#dashtitle').textContent = title;
  document.title = `${title} · flowlake`;
  // Cells taken so far: a widget that would overlap one placed before it
  // (two widgets given the same place) is not stacked on top of it but
  // flows into the first free rows instead.
  const taken = new Set();
  dash.widgets.forEach((w, i) => {
    const card = el('section', { class: 'card', 'data-widget': widgetId(w, i), 'data-type': w.type });
    for (const k of ['x', 'y', 'w', 'h']) card.style.setProperty(`--${k}`, String(w[k]));
    const cells = [];
    for (let r = w.y; r < w.y + w.h; r++) for (let c = w.x; c < w.x + w.w; c++) cells.push(`${r},${c}`);
    if (cells.some((k) => taken.has(k))) card.classList.add('flow');
    else cells.forEach((k) => taken.add(k));
    const sub = w.options?.subtitle ?? SUBTITLE[w.type];
    card.append(el('h2', {}, w.title ?? '', ...(sub ? [' ', el('small', { text: sub })] : [])));
    (BUILD[w.type] ?? (() => card.append(el('p', { class: 'err', text: `unknown widget type ${w.type}` }))))(card, w);
    if (editing) card.append(editor(w, i));
    main.append(card);
  });
}

// ---- widgets -----------------------------------------------------------------

const last = {};   // what each widget was drawn from, by widget id (tests read it too)

function cardError(card, err) {
  let p = $('p.err', card);
  if (!p) { p = el('p', { class: 'err' }); card.append(p); }
  p.textContent = err.message;
}

function clearError(card) { $('p.err', card)?.remove(); }

// A series' window length, from its points (the built-ins: 15 minutes).
const stepOf = (doc) => {
  for (const s of doc.series ?? []) {
    const p = s.points?.[0];
    if (p) return parseTime(p.window_end) - parseTime(p.window_start);
  }
  return WINDOW;
};

const dimsText = (d) => Object.entries(d ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');

function drawMetric(card, id, w, doc, from, to, watermark) {
  const step = stepOf(doc);
  const series = doc.series.length ? doc.series : [{ dimensions: {}, points: [] }];
  const lines = series.map((s, i) => ({
    id: dimsText(s.dimensions) || id, label: dimsText(s.dimensions) || w.title || w.metric,
    color: PALETTE[(i + 5) % PALETTE.length], bars: w.options?.chart === 'bar',
    ...grid(s.points ?? [], from, to, step, watermark),
  }));
  const g = lines[0];
  last[id] = { xs: g.xs, vals: g.vals, finals: g.finals };
  const total = lines.reduce((a, l) => a + l.vals.reduce((x, y) => x + y, 0), 0);
  const b = $('[data-total]', card);
  if (b) {
    b.textContent = fmtNum(total);
    b.dataset.total = String(total);
  }
  drawChart(id, card, g.xs, lines, 240);
  drawLegend(card, lines);
}

function drawDims(card, id, w, doc, from, to, watermark) {
  const step = stepOf(doc);
  const dim = Object.keys(w.dims ?? {})[0] ?? Object.keys(doc.series[0]?.dimensions ?? {})[0] ?? 'protocol';
  const isProto = dim === 'protocol';
  const name = (v) => (isProto ? protoName(v) : String(v));
  const norm = (v) => (isProto ? Number(v) : String(v));
  const byVal = new Map();
  for (const s of doc.series) {
    const v = s.dimensions?.[dim];
    if (v != null && (!isProto || /^\d+$/.test(v))) byVal.set(norm(v), s.points);
  }
  // Shown: the protocols of the URL (the picker's state), else the
  // widget's dims filter, else all.
  const filter = Array.isArray(w.dims?.[dim]) && w.dims[dim].length ? w.dims[dim].map(norm) : null;
  const picked = isProto && state.protos != null ? state.protos : filter;
  const known = new Set([...byVal.keys(), ...(picked ?? [])]);
  const all = [...known].sort((a, b) => (isProto ? a - b : String(a).localeCompare(String(b))));
  const shown = picked == null ? all : all.filter((p) => picked.includes(p));
  const picker = $('.picker', card);
  if (picker) {
    picker.textContent = '';
    if (all.length === 0) picker.append(el('span', { class: 'empty', text: 'no values in this range' }));
    for (const p of all) {
      const cb = el('input', { type: 'checkbox', value: String(p), checked: shown.includes(p) });
      cb.addEventListener('change', () => {
        const ticked = $$('input:checked', picker).map((c) => norm(c.value));
        if (isProto) {
          state.protos = ticked;
          writeState();
        } else {
          w.dims = { ...(w.dims ?? {}), [dim]: ticked };
        }
        drawDims(card, id, w, last[`${id}Doc`], from, to, watermark);
      });
      const attrs = { 'data-value': String(p) };
      if (isProto) attrs['data-proto'] = String(p);
      picker.append(el('label', attrs, cb, ` ${name(p)}`));
    }
  }
  const lines = shown.map((p) => ({
    id: String(p), label: name(p), color: PALETTE[all.indexOf(p) % PALETTE.length],
    ...grid(byVal.get(p) ?? [], from, to, step, watermark),
  }));
  last[`${id}Doc`] = doc;
  last[id] = Object.fromEntries(lines.map((l) => [l.id, { xs: l.xs, vals: l.vals, finals: l.finals }]));
  const xs = lines[0]?.xs ?? grid([], from, to, step, watermark).xs;
  drawChart(id, card, lines.length ? xs : [], lines, 240,
    all.length && !lines.length ? 'nothing ticked' : 'no windows in this range');
  drawLegend(card, lines);
}

// The rows of an aggregate=sum answer: k = the first dimension's value,
// one member per metric column (the first metric's value, the others from
// "with"); the 'other' group (every dimension 'other') marked.
function aggRows(doc, ms) {
  return doc.series.map((s) => {
    const dims = Object.values(s.dimensions ?? {});
    const r = { k: dims[0] ?? '', other: dims.length > 0 && dims.every((v) => v === 'other') };
    r[colOf(ms[0])] = s.value ?? 0;
    for (const m of ms.slice(1)) r[colOf(m)] = s.with?.[m] ?? 0;
    return r;
  });
}

function fillTable(card, rows, cols, rank) {
  const tb = $('tbody', card);
  tb.textContent = '';
  if (rows.length === 0) {
    tb.append(el('tr', {}, el('td', { class: 'empty', colSpan: cols.length + 2, text: 'no flows in this range' })));
    return;
  }
  const max = Math.max(1, ...rows.map((r) => Number(r[cols[0]]) || 0));
  rows.forEach((r, i) => {
    const tr = el('tr', { 'data-k': r.k ?? '', class: r.other ? 'other' : '' });
    for (const c of cols) tr.setAttribute(`data-${c}`, String(r[c] ?? 0));
    if (rank) tr.append(el('td', { class: 'n', text: r.other ? '' : String(i + 1) }));
    tr.append(el('td', { text: r.k ?? '(none)' }));
    cols.forEach((c, j) => {
      const fmt = c === 'bytes' ? fmtBytes : fmtNum;
      const td = el('td', { class: 'n', text: fmt(r[c]), title: fmtNum(r[c]) });
      if (j === 0) {
        td.classList.add('bar-cell');
        const fill = el('span', { class: 'fill' });
        fill.style.width = `${(100 * (Number(r[c]) || 0)) / max}%`;
        td.prepend(fill);
      }
      tr.append(td);
    });
    tb.append(tr);
  });
}

function drawActions(card, id, w, doc) {
  const ms = metricsOf(w);
  const rows = aggRows(doc, ms).filter((r) => !r.other).sort((a, b) => String(a.k).localeCompare(String(b.k)));
  last[id] = rows;
  fillTable(card, rows, ms.map(colOf), false);
}

function drawTop(card, id, w, doc) {
  const ms = metricsOf(w);
  const dim = Object.keys(doc.series[0]?.dimensions ?? {})[0];
  if (dim) $('th.dim', card).textContent = DIM_TEXT[dim] ?? dim;
  // An 'other' of nothing (every contributor shown) is left out.
  const rows = aggRows(doc, ms).filter((r) => !r.other || ms.some((m) => r[colOf(m)] !== 0));
  last[id] = rows;
  fillTable(card, rows, ms.map(colOf), true);
}

function drawIngest(card, id, status, rin, from, to) {
  const m = status.metrics ?? {};
  const records = Object.values(status.sources ?? {}).reduce((a, s) => a + (s.records ?? 0), 0);
  const now = Math.floor(Date.now() / 1000);
  const pts = rin.series[0]?.points ?? [];
  const finals = pts.filter((p) => p.final);
  const rate = finals.length ? finals[finals.length - 1].value : null;
  const f = {
    rate: [rate, fmtNum(rate)],
    records: [records, fmtNum(records)],
    lag: [m.ingest_lag_seconds, fmtDur(m.ingest_lag_seconds)],
    stream_lag: [m.stream_lag_seconds, fmtDur(m.stream_lag_seconds)],
    watermark: [m.watermark_start, fmtTime(m.watermark_start)],
    buffered: [status.buffer?.records, fmtNum(status.buffer?.records)],
  };
  for (const [k, [v, text]] of Object.entries(f)) {
    const dd = $(`[data-f="${k}"]`, card);
    dd.textContent = text;
    dd.dataset.value = v == null ? '' : String(v);
  }
  last[id] = { status, rate };
  const g = grid(pts, from, to, 60, now - 2);
  drawChart(id, card, g.xs, [{ id: 'records_in', label: 'records in per minute', color: PALETTE[0], ...g }], 140);
}

const STATE_TEXT = { ALARM: 'In alarm', OK: 'OK', INSUFFICIENT_DATA: 'Insufficient data' };

function drawAlarms(card, id, alarms, history) {
  const ul = $('ul.alarms', card);
  ul.textContent = '';
  if (alarms.length === 0) ul.append(el('li', { class: 'empty', text: 'no alarms configured ([alarm.NAME] in the config)' }));
  for (const a of alarms) {
    const dims = Object.entries(a.dimensions ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
    ul.append(el('li', { 'data-alarm': a.name, 'data-state': a.state, title: a.state_reason ?? '' },
      el('span', { class: `state ${a.state}`, text: STATE_TEXT[a.state] ?? a.state }),
      el('b', { text: a.name }),
      el('span', { class: 'empty', text: `${a.metric}${dims ? ` {${dims}}` : ''} ${a.comparison} ${a.threshold}` +
        (a.state_updated ? ` · since ${fmtTime(parseTime(a.state_updated))}` : '') })));
  }
  const tb = $('table.history tbody', card);
  tb.textContent = '';
  if (history.length === 0) tb.append(el('tr', {}, el('td', { class: 'empty', colSpan: 4, text: 'no state changes yet' })));
  for (const h of history) {
    tb.append(el('tr', { 'data-alarm': h.alarm },
      el('td', { text: fmtTime(parseTime(h.time)) }),
      el('td', { text: h.alarm }),
      el('td', {}, el('span', { class: `state ${h.old_state}`, text: STATE_TEXT[h.old_state] ?? h.old_state }),
        ' → ', el('span', { class: `state ${h.new_state}`, text: STATE_TEXT[h.new_state] ?? h.new_state })),
      el('td', { text: h.reason ?? '' })));
  }
  last[id] = { alarms, history };
}

function drawSql(card, id, rows) {
  const cols = Object.keys(rows[0] ?? {});
  const thead = $('thead', card), tb = $('tbody', card);
  thead.textContent = '';
  tb.textContent = '';
  thead.append(el('tr', {}, ...cols.map((c) => el('th', { text: c }))));
  if (rows.length === 0) tb.append(el('tr', {}, el('td', { class: 'empty', text: 'no rows' })));
  for (const r of rows.slice(0, SQL_ROWS)) {
    tb.append(el('tr', {}, ...cols.map((c) => el('td', {
      text: r[c] == null ? 'NULL' : typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c]) }))));
  }
  if (rows.length > SQL_ROWS) tb.append(el('tr', {}, el('td', { class: 'empty', colSpan: cols.length,
    text: `${rows.length - SQL_ROWS} more rows (add a LIMIT)` })));
  last[id] = rows;
}

// ---- refresh ---------------------------------------------------------------

// The reads of one widget in the batch.
function readsOf(w, from, to, ingestFrom) {
  const ms = metricsOf(w);
  if (ms.length === 0) return [];
  const sum = (r) => (ms.length > 1 ? { ...r, with: ms.slice(1) } : r);
  switch (w.type) {
    case 'metric':
    case 'dimension_lines': return [{ metric: ms[0], from, to }];
    case 'actions': return [sum({ metric: ms[0], from, to, aggregate: 'sum' })];
    case 'top': return [sum({ metric: ms[0], from, to, aggregate: 'sum', top: Number(w.options?.top) || TOP_N })];
    case 'ingest': return [{ metric: ms[0], from: ingestFrom, to }];
    default: return [];
  }
}

// Every read in one POST /api/metrics/batch (in pieces of BATCH_MAX when a
// dashboard has more): the answers in the order of the reads.
function batch(reads) {
  if (reads.length === 0) return Promise.resolve([]);
  const parts = [];
  for (let i = 0; i < reads.length; i += BATCH_MAX) parts.push(reads.slice(i, i + BATCH_MAX));
  return Promise.all(parts.map((p) => api('/api/metrics/batch', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(p),
  }))).then((answers) => answers.flat());
}

let generation = 0;
let refreshes = 0;

async function refresh() {
  if (dash == null) return;
  const gen = ++generation;
  // For the browser tests: data-generation is the newest refresh begun,
  // data-drawn the newest whose answers are all on the page (an older one
  // still running ends without drawing), data-refreshed how many were.
  document.body.dataset.generation = String(gen);
  const { from, to } = span();
  $('#span').textContent = `${fmtTime(from)} – ${fmtTime(to)}`;
  const current = () => gen === generation;
  const ws = dash.widgets.map((w, i) => ({ w, id: widgetId(w, i) }))
    .map((x) => ({ ...x, card: $(`[data-widget="${CSS.escape(x.id)}"]`) }))
    .filter((x) => x.card && BUILD[x.w.type]);
  const widget = (card, p) => {
    card.classList.add('loading');
    return p.then(() => { if (current()) clearError(card); },
                  (err) => { if (current()) cardError(card, err); })
      .finally(() => card.classList.remove('loading'));
  };
  const ingestFrom = Math.max(from, to - INGEST_SPAN);
  const reads = [];
  const slot = new Map();
  for (const x of ws) {
    const r = readsOf(x.w, from, to, ingestFrom);
    if (r.length) { slot.set(x.id, reads.length); reads.push(...r); }
  }
  const answers = batch(reads);
  const answer = (id) => answers.then((a) => {
    const d = a[slot.get(id)];
    if (d == null) throw new Error('no answer');
    if (d.error) throw new Error(`/api/metrics/batch: ${reads[slot.get(id)].metric}: ${d.status} ${d.error}`);
    return d;
  });
  const needStatus = ws.some((x) => ['metric', 'dimension_lines', 'ingest'].includes(x.w.type));
  const status = needStatus ? api('/api/status') : Promise.resolve({});
  const wm = status.then((s) => s.metrics?.watermark_start ?? null, () => null);
  const aw = ws.find((x) => x.w.type === 'alarms');
  const hist = Math.min(1000, Math.max(1, Number(aw?.w.options?.history) || 20));
  // The history from the server's own reader of the history file: no SQL
  // worker for it (the same rows as vpc_flow_logs.alarm_history).
  const alarms = aw ? Promise.all([api('/api/alarms'), api(`/api/alarms/history?limit=${hist}`)]) : null;
  const noMetric = (x) => (metricsOf(x.w).length ? null : Promise.reject(new Error('no metric set')));
  await Promise.allSettled(ws.map((x) => {
    const { w, id, card } = x;
    switch (w.type) {
      case 'metric': return widget(card, noMetric(x) ?? Promise.all([answer(id), wm])
        .then(([d, m]) => current() && drawMetric(card, id, w, d, from, to, m)));
      case 'dimension_lines': return widget(card, noMetric(x) ?? Promise.all([answer(id), wm])
        .then(([d, m]) => current() && drawDims(card, id, w, d, from, to, m)));
      case 'actions': return widget(card, noMetric(x) ?? answer(id).then((d) => current() && drawActions(card, id, w, d)));
      case 'top': return widget(card, noMetric(x) ?? answer(id).then((d) => current() && drawTop(card, id, w, d)));
      case 'ingest': return widget(card, noMetric(x) ?? Promise.all([status, answer(id)])
        .then(([s, r]) => current() && drawIngest(card, id, s, r, ingestFrom, to)));
      case 'alarms': return widget(card, alarms.then(([a, h]) => current() && drawAlarms(card, id, a, h.history)));
      case 'sql': return widget(card, (typeof w.sql === 'string' && w.sql.trim()
        ? sql(w.sql, current) : Promise.reject(new Error('no SQL set')))
        .then((rows) => current() && drawSql(card, id, rows)));
      default: return null;
    }
  }));
  if (!current()) return;
  refreshes++;
  $('#updated').textContent = `· updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.drawn = String(gen);
  document.body.dataset.refreshed = String(refreshes);
}

let timer = null;
function schedule() {
  clearInterval(timer);
  timer = state.refresh > 0 ? setInterval(refresh, state.refresh * 1000) : null;
}

// ---- loading, choosing, editing ------------------------------------------------

function editMsg(text, bad = false) {
  const m = $('#editmsg');
  m.textContent = text;
  m.classList.toggle('bad', bad);
}

// The dashboard of the URL; a name that has none falls back to the default.
async function loadDashboard() {
  const name = state.dashboard;
  try {
    dash = await api(`/api/dashboards/${encodeURIComponent(name)}`);
  } catch (err) {
    if (name === DEFAULT_DASH) throw err;
    editMsg(`${err.message}: showing ${DEFAULT_DASH}`, true);
    state.dashboard = DEFAULT_DASH;
    writeState();
    dash = await api(`/api/dashboards/${encodeURIComponent(DEFAULT_DASH)}`);
  }
  if (!Array.isArray(dash.widgets)) dash.widgets = [];
  dirty = false;
  render();
  listDashboards();
}

async function listDashboards() {
  const sel = $('#dashboard');
  let list = [];
  try { list = await api('/api/dashboards'); } catch { /* the select shows the current one only */ }
  const names = list.map((d) => d.name);
  if (!names.includes(state.dashboard)) list.push({ name: state.dashboard, title: state.dashboard, source: 'new' });
  sel.textContent = '';
  for (const d of list) {
    sel.append(el('option', { value: d.name, text: d.title && d.title !== d.name ? `${d.title} (${d.name})` : d.name,
      title: d.source === 'saved' ? `saved ${d.modified}` : d.source }));
  }
  sel.append(el('option', { value: '', text: 'new…' }));
  sel.value = state.dashboard;
}

const cell = (name, v, min, max) => el('input', { type: 'number', name, value: String(v ?? 0), min: String(min),
  max: String(max), step: '1', ariaLabel: name });
const CELLS = { w: [1, 12], h: [1, 100], x: [0, 11], y: [0, 10000] };

// A widget's form in edit mode: its fields, size and position, remove and
// move. "apply" changes the document; Save sends it.
function editor(w, i) {
  const f = el('form', { class: 'editor', 'data-index': String(i) });
  const row = (label, input) => f.append(el('label', { text: label }), input);
  row('title', el('input', { name: 'title', value: w.title ?? '' }));
  if (['metric', 'dimension_lines', 'ingest'].includes(w.type)) {
    row('metric', el('input', { name: 'metric', value: w.metric ?? '', placeholder: 'metric name (GET /api/metrics)' }));
  }
  if (['actions', 'top'].includes(w.type)) {
    row('metrics', el('input', { name: 'metrics', value: metricsOf(w).join(', '),
      placeholder: 'ordering metric, then further columns' }));
  }
  if (w.type === 'top') row('top N', cell('top', w.options?.top ?? TOP_N, 1, 1000));
  if (w.type === 'metric') {
    const s = el('select', { name: 'chart' }, el('option', { value: 'line', text: 'line' }),
      el('option', { value: 'bar', text: 'bar' }));
    s.value = w.options?.chart === 'bar' ? 'bar' : 'line';
    row('chart', s);
  }
  if (w.type === 'dimension_lines') {
    const dim = Object.keys(w.dims ?? {})[0] ?? 'protocol';
    row(`${dim} shown`, el('input', { name: 'dims', value: (w.dims?.[dim] ?? []).join(', '),
      placeholder: 'all' }));
  }
  if (w.type === 'sql') row('SQL', el('textarea', { name: 'sql', value: w.sql ?? '' }));
  row('w h x y', el('span', { class: 'cells' }, ...Object.entries(CELLS).map(([k, [lo, hi]]) => cell(k, w[k], lo, hi))));
  const btn = (text, fn, name) => {
    const b = el('button', { type: 'button', text, name: name ?? text });
    b.addEventListener('click', fn);
    return b;
  };
  const move = (dx, dy) => () => {
    w.x = Math.min(12 - w.w, Math.max(0, w.x + dx));
    w.y = Math.max(0, w.y + dy);
    changed();
  };
  f.append(el('div', { class: 'buttons' }, el('button', { type: 'submit', text: 'apply', name: 'apply' }),
    btn('←', move(-1, 0), 'left'), btn('→', move(1, 0), 'right'), btn('↑', move(0, -1), 'up'), btn('↓', move(0, 1), 'down'),
    btn('remove', () => { dash.widgets.splice(i, 1); changed(); })));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = (n) => f.elements[n]?.value;
    w.title = v('title');
    if (f.elements.metric) w.metric = v('metric').trim();
    if (f.elements.metrics) w.metrics = v('metrics').split(',').map((s) => s.trim()).filter(Boolean);
    if (f.elements.sql) w.sql = v('sql');
    if (f.elements.top) w.options = { ...(w.options ?? {}), top: Number(v('top')) || TOP_N };
    if (f.elements.chart) w.options = { ...(w.options ?? {}), chart: v('chart') };
    if (f.elements.dims) {
      const dim = Object.keys(w.dims ?? {})[0] ?? 'protocol';
      const vals = v('dims').split(',').map((s) => s.trim()).filter(Boolean);
      w.dims = { [dim]: dim === 'protocol' ? vals.filter((x) => /^\d+$/.test(x)).map(Number) : vals };
    }
    for (const [k, [lo, hi]] of Object.entries(CELLS)) {
      w[k] = Math.min(hi, Math.max(lo, Math.round(Number(v(k)) || 0)));
    }
    if (w.x + w.w > 12) w.x = 12 - w.w;
    changed();
  });
  return f;
}

function changed() {
  dirty = true;
  editMsg('changed, not saved');
  render();
  refresh();
}

// The answer of a PUT or DELETE as a message: a refused key says which.
async function answerText(r, done) {
  if (r.ok) return [done, false];
  if (r.status === 401 || r.status === 403) {
    return ['refused: changing a dashboard needs the admin key (server.admin_key), ' +
            'or the read key when the server has no admin key', true];
  }
  let msg = r.statusText;
  try { msg = (await r.json()).error || msg; } catch { /* not JSON */ }
  return [`${r.status}: ${msg}`, true];
}

async function put(doc) {
  const r = await authFetch(`/api/dashboards/${encodeURIComponent(state.dashboard)}`, {
    role: 'admin', method: 'PUT', headers: { 'Content-Type': 'application/json' },
    body: `${JSON.stringify(doc, null, 1)}\n`,
  });
  return answerText(r, `saved ${state.dashboard}`);
}

async function save() {
  editMsg('saving…');
  const [text, bad] = await put(dash);
  if (!bad) dirty = false;
  editMsg(text, bad);
  if (!bad) listDashboards();
}

function exportFile() {
  const blob = new Blob([`${JSON.stringify(dash, null, 1)}\n`], { type: 'application/json' });
  const a = el('a', { href: URL.createObjectURL(blob), download: `${state.dashboard}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// An imported file replaces the dashboard shown, once the server took it.
async function importFile(file) {
  let doc;
  try {
    doc = JSON.parse(await file.text());
  } catch (err) {
    editMsg(`${file.name}: not JSON (${err.message})`, true);
    return;
  }
  editMsg('importing…');
  const [text, bad] = await put(doc);
  editMsg(bad ? text : `imported ${file.name} as ${state.dashboard}`, bad);
  if (bad) return;
  dash = doc;
  dirty = false;
  render();
  refresh();
  listDashboards();
}

async function reset() {
  const r = await authFetch(`/api/dashboards/${encodeURIComponent(state.dashboard)}`, { role: 'admin', method: 'DELETE' });
  const [text, bad] = r.status === 404 ? ['nothing saved under this name', true]
    : await answerText(r, `removed the saved ${state.dashboard}`);
  editMsg(text, bad);
  if (bad) return;
  await loadDashboard();
  refresh();
}

$('#edit').addEventListener('click', () => {
  editing = !editing;
  $('#edit').setAttribute('aria-pressed', String(editing));
  $('#edit').textContent = editing ? 'Done' : 'Edit';
  $('.edittools').hidden = !editing;
  render();
  refresh();
});
$('#add').addEventListener('click', () => {
  dash.widgets.push(newWidget($('#addtype').value));
  changed();
});
$('#save').addEventListener('click', save);
$('#export').addEventListener('click', exportFile);
$('#import').addEventListener('change', (ev) => {
  const f = ev.target.files?.[0];
  ev.target.value = '';
  if (f) importFile(f);
});
$('#reset').addEventListener('click', reset);
$('#dashboard').addEventListener('change', async () => {
  let name = $('#dashboard').value;
  if (name === '') {
    // A new dashboard starts as a copy of the one shown, saved by Save.
    name = window.prompt('Name of the new dashboard (A-Z a-z 0-9 . _ -)') ?? '';
    if (!NAME_RE.test(name)) {
      if (name) editMsg(`not a dashboard name: ${name}`, true);
      $('#dashboard').value = state.dashboard;
      return;
    }
    state.dashboard = name;
    writeState();
    dash = { ...dash, name, title: name };
    changed();
    listDashboards();
    return;
  }
  if (dirty && !window.confirm('Leave this dashboard without saving the changes?')) {
    $('#dashboard').value = state.dashboard;
    return;
  }
  state.dashboard = name;
  writeState();
  await loadDashboard();
  refresh();
});

// ---- controls ----------------------------------------------------------------

// datetime-local values are read in the chosen time zone.
function inputValue(t) {
  if (state.tz === 'utc') return isoZ(t).slice(0, 16);
  const d = new Date(t * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
const inputTime = (v) => parseTime(state.tz === 'utc' ? `${v}:00Z` : new Date(v).toISOString());

function syncControls() {
  for (const b of $$('.ranges button')) b.setAttribute('aria-pressed', String(b.dataset.range === state.range));
  $('#custom').hidden = state.range !== 'custom';
  if (state.range === 'custom') {
    $('#from').value = inputValue(state.from);
    $('#to').value = inputValue(state.to);
  }
  $('#tz').value = state.tz;
  $('#refresh').value = String(state.refresh);
}

function apply() {
  prefs.tz = state.tz;
  writeState();
  syncControls();
  schedule();
  refresh();
}

for (const b of $$('.ranges button')) {
  b.addEventListener('click', () => {
    if (b.dataset.range === 'custom') {
      const s = span();
      Object.assign(state, { range: 'custom', from: s.from, to: s.to });
    } else {
      state.range = b.dataset.range;
    }
    apply();
  });
}
$('#custom').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const from = inputTime($('#from').value), to = inputTime($('#to').value);
  if (from == null || to == null || to <= from) return;
  Object.assign(state, { range: 'custom', from, to });
  apply();
});
$('#tz').addEventListener('change', () => { state.tz = $('#tz').value; apply(); });
$('#refresh').addEventListener('change', () => { state.refresh = Number($('#refresh').value); apply(); });
$('#reload').addEventListener('click', () => refresh());
// A URL pasted or edited by hand.
window.addEventListener('hashchange', async () => {
  const before = state.dashboard;
  readState();
  if (state.dashboard !== before) await loadDashboard();
  apply();
});

navBar();
readState();
window.flowlake = { state, last, protoName, dashboard: () => dash };
loadDashboard().then(apply, (err) => {
  const e = $('#error');
  e.textContent = `cannot load the dashboard: ${err.message}`;
  e.hidden = false;
});
