// flowlake's web UI: the status page (/status), for whoever is on call and
// wants to know whether deliveries arrive and are archived.
//
// A plain ES module, no framework. Every figure comes from the server's
// JSON APIs, none from SQL (each SQL statement costs the server a worker
// process): /api/status (sources and their rates, WAL, buffer, publishing,
// metric clocks), /api/publishes (the last publish attempts),
// /api/rejects (the newest lines of ARCHIVE/_errors/ and counts by
// reason), /api/alarms and /api/alarms/history. Text from the server --
// above all the raw rejected lines, which are whatever a sender sent --
// only ever goes into the page as text (textContent), never as HTML.
// The refresh interval and time zone are kept in the URL's fragment.
// docs/ui.md describes the page.

import {
  $, el, prefs, parseTime, fmtNum, fmtBytes, fmtTime, axisTime, fmtDur,
  api, navBar,
} from './common.js';

const uPlot = window.uPlot;
const REFRESHES = [0, 10, 30, 60];
const SOURCES = ['firehose', 'cwl', 'ingest', 'watch', 'demo', 'kafka'];
const PALETTE = ['#4ea1ff', '#f5a623', '#7ed321', '#bd10e0', '#50e3c2', '#e94b3c'];
const SAMPLES = 20;
const HISTORY = 50;
const STATE_TEXT = { ALARM: 'In alarm', OK: 'OK', INSUFFICIENT_DATA: 'Insufficient data' };

const state = { tz: 'utc', refresh: 10 };
const last = {};   // what each widget was drawn from (the browser test reads it)

function readState() {
  const h = new URLSearchParams(location.hash.slice(1));
  state.tz = h.get('tz') === 'local' ? 'local' : 'utc';
  const r = Number(h.get('refresh'));
  state.refresh = h.has('refresh') && REFRESHES.includes(r) ? r : 10;
}

function writeState() {
  const h = new URLSearchParams({ tz: state.tz, refresh: String(state.refresh) });
  history.replaceState(null, '', `#${h}`);
}

const num = (v) => el('td', { class: 'n', text: fmtNum(v) });
const fmtRate = (v) => (v == null ? '–' : Number(v).toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2));
const ago = (t) => (t == null ? '–' : `${fmtTime(t)} (${fmtDur(Date.now() / 1000 - t)} ago)`);

function setFigures(card, figs) {
  for (const [k, v] of Object.entries(figs)) {
    const dd = $(`[data-f="${k}"]`, card);
    if (dd) dd.textContent = v;
  }
}

function cardError(card, err) {
  let p = $('p.err', card);
  if (!p) { p = el('p', { class: 'err' }); card.append(p); }
  p.textContent = err.message;
}

// ---- raw rejected lines --------------------------------------------------

// The bytes of a line that is not UTF-8 (raw_base64) as text: each valid
// UTF-8 sequence as its character, each other byte as \xNN, so that the
// line reads as it was sent and the stray byte shows.
export function bytesText(b64) {
  const bin = atob(b64);
  const b = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const dec = new TextDecoder('utf-8', { fatal: true });
  let out = '';
  for (let i = 0; i < b.length;) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3
      : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    let ok = n > 0 && i + n <= b.length;
    let ch = '';
    if (ok) {
      try { ch = dec.decode(b.subarray(i, i + n)); } catch { ok = false; }
    }
    if (ok) { out += ch; i += n; } else { out += `\\x${c.toString(16).padStart(2, '0')}`; i++; }
  }
  return out;
}

// ---- widgets -------------------------------------------------------------

let chart = null;

function drawRates(rates) {
  const card = $('[data-widget="sources"]');
  const box = $('.chart', card);
  const lg = $('.legend', card);
  const names = SOURCES.filter((k) => rates[k]?.per_minute);
  chart?.destroy();
  chart = null;
  box.textContent = '';
  lg.textContent = '';
  const shown = names.filter((k) => rates[k].per_minute.records.some((v) => v > 0));
  if (shown.length === 0 || !uPlot) {
    box.append(el('p', { class: 'empty', text: 'no records in the last hour' }));
    return;
  }
  const pm = rates[shown[0]].per_minute;
  const xs = pm.records.map((_, i) => pm.start + i * 60);
  const data = [xs, ...shown.map((k) => rates[k].per_minute.records)];
  const css = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();
  const axis = { stroke: css('--dim'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line') } };
  chart = new uPlot({
    width: Math.max(200, box.clientWidth || 600),
    height: 140,
    legend: { show: false },
    series: [{}, ...shown.map((k) => ({ label: k, stroke: PALETTE[SOURCES.indexOf(k)], width: 2 }))],
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.05 : 1] } },
    axes: [{ ...axis, values: (u, splits) => splits.map((t) => axisTime(t, false)) }, { ...axis, size: 60 }],
    tzDate: state.tz === 'utc' ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC')
                               : (ts) => new Date(ts * 1000),
    cursor: { drag: { x: false, y: false } },
  }, data, box);
  for (const k of shown) {
    const item = el('span', { 'data-series': k }, el('i'), k);
    item.querySelector('i').style.background = PALETTE[SOURCES.indexOf(k)];
    lg.append(item);
  }
}

function drawSources(st) {
  const tb = $('[data-widget="sources"] tbody');
  tb.textContent = '';
  // Every source the server reports, in a fixed order, unknown ones last.
  const keys = [...SOURCES.filter((k) => k in st.sources),
                ...Object.keys(st.sources).filter((k) => !SOURCES.includes(k))];
  for (const k of keys) {
    const s = st.sources[k];
    const r = st.source_rates?.[k] ?? {};
    const idle = s.requests === 0;
    tb.append(el('tr', { 'data-source': k, class: idle ? 'idle' : '' },
      el('td', { text: k }),
      num(s.requests), num(s.records), num(s.rejected), num(s.duplicates),
      el('td', { class: 'n', 'data-f': 'rate', text: fmtRate(r.records_per_second) }),
      el('td', { class: 'n', 'data-f': 'rejected_min', text: fmtNum(r.rejected_last_minute) }),
      el('td', { 'data-f': 'last_request', text: r.last_request == null ? 'never' : ago(r.last_request) })));
  }
  drawRates(st.source_rates ?? {});
}

function drawWal(st) {
  const w = st.wal, b = st.buffer;
  const due = b.next_publish_in_seconds;
  setFigures($('[data-widget="wal"]'), {
    wal_bytes: `${fmtBytes(w.bytes)} of ${fmtBytes(w.max_bytes)}`,
    wal_segments: fmtNum(w.segments),
    wal_seq: `${fmtNum(w.durable_seq)} / ${fmtNum(w.published_seq)} / ${fmtNum(w.checkpoint)}`,
    unpublished: fmtNum(w.unpublished_records),
    buf_records: fmtNum(b.records),
    buf_blocks: fmtNum(b.blocks),
    buf_bytes: `${fmtBytes(b.bytes)} of ${fmtBytes(b.max_bytes)}`,
    buf_age: b.oldest_age_seconds == null ? 'empty' : fmtDur(b.oldest_age_seconds),
    next_publish: due == null ? `${fmtDur(b.interval_seconds)} after the next record`
      : due <= 0 ? 'now' : `in ${fmtDur(due)}`,
    accepting: st.accepting ? 'yes' : 'no (stopping)',
  });
}

function drawPublishes(st, pubs) {
  const card = $('[data-widget="publishes"]');
  const p = st.published;
  setFigures(card, {
    records: fmtNum(p.records),
    files: fmtNum(p.files),
    last: p.last_publish ? ago(p.last_publish) : 'never',
    failures: fmtNum(p.failures),
    last_error: p.last_error ?? 'none',
  });
  $('[data-f="failures"]', card).classList.toggle('bad', p.failures > 0);
  const tb = $('tbody', card);
  tb.textContent = '';
  if (pubs.publishes.length === 0) {
    tb.append(el('tr', {}, el('td', { class: 'empty', colSpan: 6, text: 'no publish since the server started' })));
  }
  for (const e of pubs.publishes) {
    if (!e.ok) {
      tb.append(el('tr', { class: 'failed', 'data-ok': 'false' },
        el('td', { class: 't', text: fmtTime(e.time) }),
        el('td', { class: 'err', colSpan: 4, text: `failed: ${e.error}` }),
        num(e.wal_seq)));
      continue;
    }
    tb.append(el('tr', { 'data-ok': 'true' },
      el('td', { class: 't', text: fmtTime(e.time) }),
      el('td', { class: 'n', 'data-f': 'records', text: fmtNum(e.records) }),
      num(e.files),
      el('td', { class: 'n', text: fmtBytes(e.bytes) }),
      el('td', { class: 'n', text: `${e.seconds.toFixed(2)} s` }),
      num(e.wal_seq)));
  }
}

function drawRejects(rj) {
  const card = $('[data-widget="rejects"]');
  const scope = rj.files_total === 0 ? 'no rejected lines: the errors folder is empty'
    : `${fmtNum(rj.lines_read)} line${rj.lines_read === 1 ? '' : 's'} read from the newest ` +
      `${fmtNum(rj.files_read)} of ${fmtNum(rj.files_total)} file${rj.files_total === 1 ? '' : 's'}` +
      (rj.complete ? ' (all of them)' : ' (older lines not counted)') +
      (rj.unreadable ? `; ${fmtNum(rj.unreadable)} unreadable` : '') +
      (rj.too_long ? `; ${fmtNum(rj.too_long)} too long to show` : '');
  $('[data-f="scope"]', card).textContent = scope;
  const rb = $('table.reasons tbody', card);
  rb.textContent = '';
  for (const r of rj.reasons) {
    rb.append(el('tr', { 'data-reason': r.reason }, el('td', { text: r.reason }), num(r.count)));
  }
  if (rj.other_reasons) rb.append(el('tr', { class: 'other' }, el('td', { text: 'other reasons' }), num(rj.other_reasons)));
  const sb = $('table.samples tbody', card);
  sb.textContent = '';
  if (rj.samples.length === 0) sb.append(el('tr', {}, el('td', { class: 'empty', colSpan: 4, text: 'none' })));
  for (const s of rj.samples) {
    const bytes = s.raw == null;
    const text = bytes ? bytesText(s.raw_base64) : s.raw;
    sb.append(el('tr', { 'data-file': s.file },
      el('td', { class: 'reason', text: s.reason }),
      el('td', { class: 'src', text: s.source, title: s.file }),
      num(s.line),
      el('td', { class: 'raw' },
        el('code', { text, title: bytes ? 'not UTF-8: other bytes shown as \\xNN' : '' }),
        bytes ? el('small', { text: ' (not UTF-8)' }) : '')));
  }
}

function drawLag(st) {
  const card = $('[data-widget="lag"]');
  const m = st.metrics;
  setFigures(card, {
    stream_lag: m ? fmtDur(m.stream_lag_seconds) : 'no metrics',
    ingest_lag: m?.ingest_lag_seconds == null ? '–' : fmtDur(m.ingest_lag_seconds),
    late: m ? fmtNum(m.late_records) : '–',
  });
  const tb = $('tbody', card);
  tb.textContent = '';
  for (const r of m?.per_metric ?? []) {
    tb.append(el('tr', { 'data-metric': r.metric },
      el('td', { text: r.metric, title: `time basis: ${r.time}` }),
      el('td', { class: 'n', text: fmtDur(r.window) }),
      el('td', { class: 't', 'data-f': 'watermark', text: fmtTime(r.watermark) }),
      el('td', { class: 't', 'data-f': 'final', text: fmtTime(r.final_through) }),
      el('td', { class: 'n', 'data-f': 'lag', text: fmtDur(r.lag_seconds) })));
  }
}

function stateTag(s) {
  return el('span', { class: `state ${s}`, text: STATE_TEXT[s] ?? s });
}

function drawAlarms(alarms, hist) {
  const card = $('[data-widget="alarms"]');
  const ul = $('ul.alarms', card);
  ul.textContent = '';
  if (alarms.length === 0) ul.append(el('li', { class: 'empty', text: 'no alarms configured' }));
  for (const a of alarms) {
    ul.append(el('li', { 'data-alarm': a.name, 'data-state': a.state, title: a.state_reason ?? '' },
      stateTag(a.state), el('b', { text: a.name }),
      el('span', { class: 'empty', text: a.state_updated ? `since ${fmtTime(parseTime(a.state_updated))}` : '' })));
  }
  const tb = $('table.history tbody', card);
  tb.textContent = '';
  if (hist.history.length === 0) tb.append(el('tr', {}, el('td', { class: 'empty', colSpan: 4, text: 'no state changes yet' })));
  for (const h of hist.history) {
    tb.append(el('tr', { 'data-alarm': h.alarm },
      el('td', { class: 't', text: fmtTime(parseTime(h.time)) }),
      el('td', { text: h.alarm }),
      el('td', {}, stateTag(h.old_state), ' → ', stateTag(h.new_state)),
      el('td', { text: h.reason ?? '' })));
  }
}

// ---- refresh -------------------------------------------------------------

let refreshes = 0;
let running = null;

async function refresh() {
  // One refresh at a time: a slow answer is not overtaken by the next.
  if (running) return running;
  const widget = (name, p) => {
    const card = $(`[data-widget="${name}"]`);
    card.classList.add('loading');
    return p.then(() => $('p.err', card)?.remove(), (err) => cardError(card, err))
      .finally(() => card.classList.remove('loading'));
  };
  running = (async () => {
    const status = api('/api/status');
    await Promise.allSettled([
      widget('sources', status.then(drawSources)),
      widget('wal', status.then(drawWal)),
      widget('publishes', Promise.all([status, api('/api/publishes')])
        .then(([s, p]) => { last.publishes = p; drawPublishes(s, p); })),
      widget('rejects', api(`/api/rejects?limit=${SAMPLES}`).then((r) => { last.rejects = r; drawRejects(r); })),
      widget('lag', status.then(drawLag)),
      widget('alarms', Promise.all([api('/api/alarms'), api(`/api/alarms/history?limit=${HISTORY}`)])
        .then(([a, h]) => { last.alarms = a; last.history = h; drawAlarms(a, h); })),
    ]);
    const st = await status.catch(() => null);
    if (st) {
      last.status = st;
      $('#uptime').textContent = `up ${fmtDur(st.uptime_seconds)}`;
    }
    refreshes++;
    $('#updated').textContent = `· updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.refreshed = String(refreshes);
  })();
  try { await running; } finally { running = null; }
}

let timer = null;
function apply() {
  prefs.tz = state.tz;
  writeState();
  $('#tz').value = state.tz;
  $('#refresh').value = String(state.refresh);
  clearInterval(timer);
  timer = state.refresh > 0 ? setInterval(refresh, state.refresh * 1000) : null;
  refresh();
}

$('#tz').addEventListener('change', () => { state.tz = $('#tz').value; apply(); });
$('#refresh').addEventListener('change', () => { state.refresh = Number($('#refresh').value); apply(); });
$('#reload').addEventListener('click', () => refresh());
window.addEventListener('hashchange', () => { readState(); apply(); });
window.addEventListener('resize', () => {
  const box = chart?.root.parentElement;
  if (box && box.clientWidth > 0) chart.setSize({ width: box.clientWidth, height: 140 });
});

navBar();
readState();
window.flowlake = { state, last, bytesText };
apply();
