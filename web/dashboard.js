// flowlake's web UI: the default dashboard "VPC-Flow-Log-Analysis".
//
// A plain ES module, no framework: it reads the dashboard state from the
// URL's hash (so a URL can be shared and survives a reload), fetches the
// data from the server's JSON APIs -- /api/metrics for the streaming
// metrics, /api/status for the ingest figures, /api/alarms, and one SQL
// statement over flow_logs through POST /api/query for the table widgets --
// and draws the series with uPlot (loaded before this module by
// index.html). When the server has a read key, every API call carries it
// as "Authorization: Bearer KEY"; on a 401 the page asks for the key and
// keeps it in sessionStorage (localStorage when "remember" is ticked).
// docs/ui.md describes the widgets and the URL parameters.

import {
  $, $$, el, prefs, protoName, parseTime, isoZ, fmtNum, fmtBytes, fmtTime,
  axisTime, fmtDur, api, sql, navBar,
} from './common.js';

const uPlot = window.uPlot;

const metric = (name, from, to) =>
  api(`/api/metrics?metric=${encodeURIComponent(name)}&from=${from}&to=${to}`);


const RANGES = { '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800, '30d': 2592000 };
const REFRESHES = [0, 10, 30, 60, 300];
const WINDOW = 900;          // the built-in metrics' 15-minute windows
const INGEST_SPAN = 6 * 3600; // records_in is per minute: at most 6 h of it
const TOP_N = 10;
const PALETTE = ['#4ea1ff', '#f5a623', '#7ed321', '#bd10e0', '#50e3c2',
                 '#e94f37', '#b8e986', '#9013fe', '#f8e71c', '#8b572a'];

// ---- state and URL -------------------------------------------------------

const state = { range: '24h', from: null, to: null, tz: 'utc', refresh: 30, protos: null };

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
  for (const l of lines) {
    const [solid, dashed] = split(l.vals, l.finals);
    const i = l.finals.indexOf(false);
    if (i >= 0 && (firstProv == null || xs[i] < firstProv)) firstProv = xs[i];
    data.push(solid, dashed);
    const pts = { show: xs.length <= 200, size: 4 };
    series.push({ label: l.label, stroke: l.color, width: 2, points: pts },
                { label: `${l.label} (provisional)`, stroke: l.color, width: 2,
                  dash: [6, 4], points: { show: true, size: 6, fill: css('--card') } });
  }
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
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.05 : 1] } },
    axes: [xaxis, { ...axis, size: 70 }],
    tzDate: state.tz === 'utc' ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC')
                               : (ts) => new Date(ts * 1000),
    cursor: { drag: { x: false, y: false } },
    hooks: {
      // Shade the open windows: their values still change.
      drawClear: [(u) => {
        if (firstProv == null) return;
        const x0 = Math.round(u.valToPos(firstProv, 'x', true));
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

// ---- widgets -----------------------------------------------------------------

const last = {};   // what each widget was drawn from (tests read it too)

function cardError(card, err) {
  let p = $('p.err', card);
  if (!p) { p = el('p', { class: 'err' }); card.append(p); }
  p.textContent = err.message;
}

function clearError(card) { $('p.err', card)?.remove(); }

function drawTcp(doc, from, to, watermark) {
  const card = $('[data-widget="tcp"]');
  const pts = doc.series[0]?.points ?? [];
  const g = grid(pts, from, to, WINDOW, watermark);
  const lines = [{ id: 'tcp', label: 'TCP rejected packets', color: PALETTE[5], ...g }];
  last.tcp = { xs: g.xs, vals: g.vals, finals: g.finals };
  const total = g.vals.reduce((a, b) => a + b, 0);
  const b = $('[data-total]', card);
  b.textContent = fmtNum(total);
  b.dataset.total = String(total);
  drawChart('tcp', card, g.xs, lines, 240);
  drawLegend(card, lines);
}

function drawProto(doc, from, to, watermark) {
  const card = $('[data-widget="proto"]');
  const byProto = new Map();
  for (const s of doc.series) {
    const p = Number(s.dimensions.protocol);
    if (Number.isInteger(p)) byProto.set(p, s.points);
  }
  const known = new Set([...byProto.keys(), ...(state.protos ?? [])]);
  const all = [...known].sort((a, b) => a - b);
  const shown = state.protos == null ? all : all.filter((p) => state.protos.includes(p));
  // The picker: every protocol with data in the range, plus those the URL names.
  const picker = $('.picker', card);
  picker.textContent = '';
  if (all.length === 0) picker.append(el('span', { class: 'empty', text: 'no rejected packets in this range' }));
  for (const p of all) {
    const cb = el('input', { type: 'checkbox', value: String(p), checked: shown.includes(p) });
    cb.addEventListener('change', () => {
      state.protos = $$('input:checked', picker).map((c) => Number(c.value));
      writeState();
      drawProto(last.protoDoc, from, to, watermark);
    });
    picker.append(el('label', { 'data-proto': String(p) }, cb, ` ${protoName(p)}`));
  }
  const lines = shown.map((p) => ({
    id: String(p), label: protoName(p), color: PALETTE[all.indexOf(p) % PALETTE.length],
    ...grid(byProto.get(p) ?? [], from, to, WINDOW, watermark),
  }));
  last.protoDoc = doc;
  last.proto = Object.fromEntries(lines.map((l) => [l.id, { xs: l.xs, vals: l.vals, finals: l.finals }]));
  const xs = lines[0]?.xs ?? grid([], from, to, WINDOW, watermark).xs;
  drawChart('proto', card, lines.length ? xs : [], lines, 240,
    all.length && !lines.length ? 'no protocol ticked' : 'no windows in this range');
  drawLegend(card, lines);
}

// One statement for the three table widgets: one query worker per refresh.
function trafficSQL(from, to) {
  const ts = (t) => `TIMESTAMP '${isoZ(t).replace('T', ' ').replace('Z', '')}'`;
  const top = (w, src, order) => `SELECT '${w}' AS w,
      CASE WHEN n <= ${TOP_N} THEN srcaddr ELSE 'other' END AS k,
      SUM(flows) AS flows, SUM(bytes) AS bytes, SUM(packets) AS packets,
      MIN(LEAST(n, ${TOP_N + 1})) AS n
    FROM (SELECT *, row_number() OVER (ORDER BY ${order} DESC NULLS LAST, srcaddr) AS n FROM ${src})
    GROUP BY 2`;
  return `WITH f AS (SELECT srcaddr, action, bytes, packets FROM flow_logs
      WHERE start >= ${ts(from)} AND start < ${ts(to)}),
    src AS (SELECT srcaddr, COUNT(*) AS flows, SUM(bytes) AS bytes, SUM(packets) AS packets
            FROM f GROUP BY srcaddr),
    rej AS (SELECT srcaddr, COUNT(*) AS flows, SUM(bytes) AS bytes, SUM(packets) AS packets
            FROM f WHERE action = 'REJECT' GROUP BY srcaddr)
  SELECT 'action' AS w, action AS k, COUNT(*) AS flows, SUM(bytes) AS bytes,
         SUM(packets) AS packets, 0 AS n FROM f GROUP BY action
  UNION ALL ${top('talkers', 'src', 'bytes')}
  UNION ALL ${top('rejected', 'rej', 'packets')}
  ORDER BY w, n, k`;
}

function fillTable(card, rows, cols) {
  const tb = $('tbody', card);
  tb.textContent = '';
  if (rows.length === 0) {
    tb.append(el('tr', {}, el('td', { class: 'empty', colSpan: 4, text: 'no flows in this range' })));
    return;
  }
  const max = Math.max(1, ...rows.map((r) => Number(r[cols[0].key]) || 0));
  for (const r of rows) {
    const tr = el('tr', { 'data-k': r.k ?? '', class: r.k === 'other' && r.n > TOP_N ? 'other' : '' });
    for (const c of ['flows', 'bytes', 'packets']) tr.setAttribute(`data-${c}`, String(r[c] ?? 0));
    if (cols.rank) tr.append(el('td', { class: 'n', text: r.n > TOP_N ? '' : String(r.n) }));
    tr.append(el('td', { text: r.k ?? '(none)' }));
    cols.forEach((c, i) => {
      const td = el('td', { class: 'n', text: c.fmt(r[c.key]), title: fmtNum(r[c.key]) });
      if (i === 0) {
        td.classList.add('bar-cell');
        const fill = el('span', { class: 'fill' });
        fill.style.width = `${(100 * (Number(r[c.key]) || 0)) / max}%`;
        td.prepend(fill);
      }
      tr.append(td);
    });
    tb.append(tr);
  }
}

function drawTraffic(rows) {
  const part = (w) => rows.filter((r) => r.w === w);
  last.traffic = rows;
  const actions = part('action');
  fillTable($('[data-widget="actions"]'), actions, [
    { key: 'flows', fmt: fmtNum }, { key: 'bytes', fmt: fmtBytes }, { key: 'packets', fmt: fmtNum }]);
  const talkers = [{ key: 'bytes', fmt: fmtBytes }, { key: 'flows', fmt: fmtNum }];
  talkers.rank = true;
  fillTable($('[data-widget="talkers"]'), part('talkers'), talkers);
  const rej = [{ key: 'packets', fmt: fmtNum }, { key: 'flows', fmt: fmtNum }];
  rej.rank = true;
  fillTable($('[data-widget="rejected"]'), part('rejected'), rej);
}

function drawIngest(status, rin, from, to) {
  const card = $('[data-widget="ingest"]');
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
  last.ingest = { status, rate };
  const g = grid(pts, from, to, 60, now - 2);
  drawChart('ingest', card, g.xs, [{ id: 'records_in', label: 'records in per minute', color: PALETTE[0], ...g }], 140);
}

const STATE_TEXT = { ALARM: 'In alarm', OK: 'OK', INSUFFICIENT_DATA: 'Insufficient data' };

function drawAlarms(alarms, history) {
  const card = $('[data-widget="alarms"]');
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
  last.alarms = { alarms, history };
}

// ---- refresh ---------------------------------------------------------------

let generation = 0;
let refreshes = 0;

async function refresh() {
  const gen = ++generation;
  const { from, to } = span();
  $('#span').textContent = `${fmtTime(from)} – ${fmtTime(to)}`;
  const current = () => gen === generation;
  const widget = (name, p) => {
    const card = $(`[data-widget="${name}"]`);
    card.classList.add('loading');
    return p.then(() => { if (current()) clearError(card); },
                  (err) => { if (current()) cardError(card, err); })
      .finally(() => card.classList.remove('loading'));
  };
  const status = api('/api/status');
  const wm = status.then((s) => s.metrics?.watermark_start ?? null);
  const ingestFrom = Math.max(from, to - INGEST_SPAN);
  const traffic = sql(trafficSQL(from, to), current).then((rows) => current() && drawTraffic(rows));
  await Promise.allSettled([
    widget('tcp', Promise.all([metric('rejected_tcp_packets', from, to), wm])
      .then(([d, w]) => current() && drawTcp(d, from, to, w))),
    widget('proto', Promise.all([metric('rejected_packets_by_protocol', from, to), wm])
      .then(([d, w]) => current() && drawProto(d, from, to, w))),
    ...['actions', 'talkers', 'rejected'].map((w) => widget(w, traffic)),
    widget('ingest', Promise.all([status, metric('records_in', ingestFrom, to)])
      .then(([s, r]) => current() && drawIngest(s, r, ingestFrom, to))),
    // The history from the server's own reader of the history file: no
    // SQL worker for it (the same rows as vpc_flow_logs.alarm_history).
    widget('alarms', Promise.all([api('/api/alarms'), api('/api/alarms/history?limit=20')])
      .then(([a, h]) => current() && drawAlarms(a, h.history))),
  ]);
  if (!current()) return;
  refreshes++;
  $('#updated').textContent = `· updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.refreshed = String(refreshes);
}

let timer = null;
function schedule() {
  clearInterval(timer);
  timer = state.refresh > 0 ? setInterval(refresh, state.refresh * 1000) : null;
}

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
window.addEventListener('hashchange', () => { readState(); apply(); });

navBar();
readState();
window.flowlake = { state, last, protoName };
apply();
