// flowlake's web UI: the SQL console (/console). A textarea for SQL with
// the AWS blog's and the Athena user guide's flow-log queries ready to
// run, the result as a table (paged, sorted by a click on a column),
// drawn as a chart with uPlot, downloaded as CSV or JSON; an error marks
// its line and column in the editor; a running query can be cancelled.
//
// Everything comes from POST /api/query?format=json: the body is the
// result, the X-Flowlake-* headers say how many rows, which columns of
// which types, how many archive files and buffered blocks were read and
// how long it took; an error answers {"error", "line", "column"}. The
// request carries a random X-Flowlake-Query-Id so that Cancel can name it
// to POST /api/query/cancel. docs/ui.md, docs/serve.md.

import { $, el, authFetch, fmtNum, navBar } from './common.js';

const PAGE = 100;
const SQL_ITEM = 'flowlake.console.sql';
const PALETTE = ['#4ea1ff', '#f5a623', '#7ed321', '#bd10e0', '#50e3c2', '#e94f37'];

// The ready queries: the AWS blog's three as written, and the Athena user
// guide's VPC flow-log examples rewritten where flowlake differs (its
// table is flow_logs, start/end are timestamps, day is 'DD' not
// 'yyyy/MM/dd'; docs/query.md), with the original habit in a comment.
const READY = [
  ['AWS blog', 'Rejected packets per protocol',
   `select protocol, sum(packets) as rejected_packets from flow_logs
where action = 'REJECT' group by protocol order by rejected_packets desc;`],
  ['AWS blog', 'Top 10 rejected sources, last 14 days',
   `SELECT srcaddr, SUM(packets) AS rejected_packets FROM flow_logs
WHERE start >= current_timestamp - interval '14' day
GROUP BY srcaddr ORDER BY rejected_packets DESC LIMIT 10;`],
  ['AWS blog', 'Top 10 HTTPS destinations by packets',
   `SELECT dstaddr, SUM(packets) AS packet_count FROM flow_logs
WHERE dstport = '443' GROUP BY dstaddr
ORDER BY packet_count DESC LIMIT 10;`],
  ['Athena user guide', 'Rejected TCP connections, with the day of the week',
   `-- Athena: FROM vpc_flow_logs
SELECT day_of_week(date) AS day, date, interface_id, srcaddr, action, protocol
FROM flow_logs
WHERE action = 'REJECT' AND protocol = 6
LIMIT 100;`],
  ['Athena user guide', 'Servers with the most HTTPS packets, last 7 days',
   `SELECT SUM(packets) AS packetcount, dstaddr
FROM flow_logs
WHERE dstport = 443 AND date > current_date - interval '7' day
GROUP BY dstaddr
ORDER BY packetcount DESC
LIMIT 10;`],
  ['Athena user guide', 'First 100 flow records of a day range',
   `-- Athena (partition projection): WHERE day >= '2021/02/01' AND day < '2021/02/02'
-- here day holds 'DD': filter on date
SELECT * FROM flow_logs
WHERE date >= current_date - interval '1' day AND date < current_date + interval '1' day
LIMIT 100;`],
  ['Athena user guide', 'Flows in a range of epoch seconds',
   `-- Athena: WHERE start >= 1796083100 AND "end" <= 1796086700 (bigint seconds)
-- here start and "end" are timestamps: to_timestamp(seconds)
SELECT start, "end", srcaddr, dstaddr, dstport, action, bytes FROM flow_logs
WHERE start >= to_timestamp(CAST(epoch(current_timestamp) AS BIGINT) - 3600)
  AND "end" <= to_timestamp(CAST(epoch(current_timestamp) AS BIGINT))
ORDER BY start DESC
LIMIT 100;`],
  ['Athena user guide', 'Flows longer than a minute',
   `-- Athena: WHERE "end" - start > 60 (bigint seconds)
SELECT interface_id, srcaddr, dstaddr, dstport,
       date_diff('second', start, "end") AS duration_s
FROM flow_logs
WHERE date_diff('second', start, "end") > 60
ORDER BY duration_s DESC
LIMIT 100;`],
  ['flowlake', 'Rejected TCP packets per 15 minutes, last day',
   `SELECT time_bucket(INTERVAL 15 MINUTE, start) AS window_start,
       sum(packets) AS rejected_tcp_packets
FROM flow_logs
WHERE start >= current_timestamp - interval '1' day
  AND action = 'REJECT' AND protocol = 6
GROUP BY 1 ORDER BY 1;`],
];

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)$/;
const TIME = /^(DATE|TIMESTAMP.*)$/;

// The result on show, and the query running.
const res = { cols: [], rows: [], order: [], text: '', sort: null, desc: false, page: 0 };
let running = null;   // { id, ctl, done }
let plot = null;

const ed = $('#sql');

// ---- the editor ---------------------------------------------------------

function readyList() {
  const box = $('#ready');
  let group = null, ul = null;
  READY.forEach(([g, title, text], i) => {
    if (g !== group) {
      group = g;
      ul = el('ul');
      box.append(el('h3', { text: g }), ul);
    }
    const b = el('button', { type: 'button', class: 'link', text: title, title: text, 'data-ready': String(i) });
    b.onclick = () => { setSQL(text); run(); };
    ul.append(el('li', {}, b));
  });
}

function setSQL(text) {
  ed.value = text;
  localStorage.setItem(SQL_ITEM, text);
}

let tabFree = false;   // Esc, then Tab: leave the editor (keyboard users)
ed.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    run();
  } else if (ev.key === 'Tab' && !tabFree && !ev.shiftKey) {
    ev.preventDefault();
    ed.setRangeText('  ', ed.selectionStart, ed.selectionEnd, 'end');
    localStorage.setItem(SQL_ITEM, ed.value);
  }
  tabFree = ev.key === 'Escape';
});
ed.addEventListener('input', () => localStorage.setItem(SQL_ITEM, ed.value));

// Selects what the error points at: from its line and column (1-based,
// in characters) to the end of the word there.
function markError(line, col) {
  const v = ed.value;
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = v.slice(at).search(/[\r\n]/);
    if (nl < 0) return;
    at += nl + 1;
  }
  // Columns count code points; the textarea counts UTF-16 units.
  const chars = [...v.slice(at).split(/[\r\n]/)[0]];
  at += chars.slice(0, col - 1).join('').length;
  const word = /^[\w$."]+/.exec(v.slice(at));
  ed.focus();
  ed.setSelectionRange(at, at + (word ? word[0].length : 1));
  // Scroll the marked line into view: a textarea has no API for it.
  const lh = parseFloat(getComputedStyle(ed).lineHeight) || 18;
  ed.scrollTop = Math.max(0, (line - 3) * lh);
}

// ---- running and cancelling ----------------------------------------------

function setState(name, text) {
  document.body.dataset.state = name;
  $('#state').textContent = text;
  $('#run').disabled = name === 'running';
  $('#cancel').disabled = name !== 'running';
}

function newId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

async function run() {
  const text = ed.value;
  if (running || !text.trim()) return;
  const q = { id: newId(), ctl: new AbortController(), done: false, cancelled: false };
  running = q;
  $('#qerr').hidden = true;
  clearResult();
  const t0 = performance.now();
  setState('running', 'running…');
  const tick = setInterval(() => {
    $('#state').textContent = `running… ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  }, 250);
  try {
    const r = await authFetch('/api/query?format=json', {
      method: 'POST', body: text, signal: q.ctl.signal,
      headers: { 'Content-Type': 'text/plain', 'X-Flowlake-Query-Id': q.id },
    });
    const body = await r.text();
    const secs = (performance.now() - t0) / 1000;
    if (r.ok) {
      show(r, body, secs);
      setState('done', '');
    } else {
      let j = {};
      try { j = JSON.parse(body); } catch { j = { error: body || r.statusText }; }
      showError(r.status, j);
    }
  } catch (e) {
    if (q.cancelled) setState('cancelled', 'cancelled');
    else showError(0, { error: e.message });
  } finally {
    clearInterval(tick);
    q.done = true;
    running = null;
  }
}

function showError(status, j) {
  if (status === 499) {
    setState('cancelled', 'cancelled');
    return;
  }
  setState('error', `failed (${status || 'no answer'})`);
  $('#qerr').hidden = false;
  $('#qerrmsg').textContent = j.error || 'the query failed';
  const pos = $('#qerrpos');
  pos.hidden = !(j.line > 0 && j.column > 0);
  if (!pos.hidden) {
    pos.textContent = `line ${j.line}, column ${j.column}`;
    pos.dataset.line = j.line;
    pos.dataset.column = j.column;
    pos.onclick = () => markError(j.line, j.column);
    markError(j.line, j.column);
  }
}

// Asks the server to stop the query. Its own request then ends with 499.
// A 404 right after Run means the server has not taken the query in yet:
// asked again for a few seconds, then the request is dropped here.
async function cancel() {
  const q = running;
  if (!q || q.cancelled) return;
  q.cancelled = true;
  $('#state').textContent = 'cancelling…';
  for (let i = 0; i < 20 && !q.done; i++) {
    let r;
    try {
      r = await authFetch(`/api/query/cancel?id=${q.id}`, { method: 'POST' });
    } catch { break; }
    if (r.status !== 404) return;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  if (!q.done) q.ctl.abort();
}

$('#run').onclick = run;
$('#cancel').onclick = cancel;
// Leaving the page while a query runs cancels it. The server also sees
// the connection close, but not through a proxy that keeps its own
// (docs/serve.md). keepalive lets the request outlive the page.
window.addEventListener('pagehide', () => {
  if (running && !running.done) {
    authFetch(`/api/query/cancel?id=${running.id}`, { method: 'POST', keepalive: true }).catch(() => {});
  }
});

// ---- the result ------------------------------------------------------------

// Nothing on show while a query runs or after it failed: an old result
// under a new query's error would read as that query's.
function clearResult() {
  Object.assign(res, { cols: [], rows: [], order: [], text: '', sort: null, desc: false, page: 0 });
  $('#stats').textContent = '';
  $('#result thead').textContent = '';
  $('#result tbody').textContent = '';
  $('#page').textContent = '';
  $('#prev').disabled = $('#next').disabled = $('#csv').disabled = $('#json').disabled = true;
  $('#cx').textContent = '';
  $('#cy').textContent = '';
  drawChart();
}

function show(r, body, secs) {
  let cols = null;
  try { cols = JSON.parse(r.headers.get('X-Flowlake-Columns')); } catch { cols = null; }
  const rows = body.trim() ? JSON.parse(body) : [];
  // Without the header (a result too wide for it): the first row's keys,
  // numeric when its values are numbers.
  if (!Array.isArray(cols)) {
    cols = Object.keys(rows[0] || {}).map((name) => ({
      name, type: rows.some((r) => typeof r[name] === 'number') ? 'DOUBLE' : '',
    }));
  }
  res.cols = cols;
  res.rows = rows;
  res.text = body;
  res.order = rows.map((_, i) => i);
  res.sort = null;
  res.desc = false;
  res.page = 0;
  const h = (k) => r.headers.get(`X-Flowlake-${k}`);
  const st = $('#stats');
  st.textContent = '';
  const fig = (k, v, label) => st.append(el('span', { 'data-k': k, 'data-value': String(v ?? '') }, label));
  fig('rows', rows.length, `${fmtNum(rows.length)} ${rows.length === 1 ? 'row' : 'rows'}`);
  fig('time', h('Elapsed-Ms'), `${secs.toFixed(2)} s (server ${fmtNum(h('Elapsed-Ms'))} ms)`);
  fig('files', h('Files'), `files read: ${fmtNum(h('Files'))}`);
  fig('blocks', h('Blocks'), `+ ${fmtNum(h('Blocks'))} buffered blocks`);
  $('#csv').disabled = $('#json').disabled = false;
  renderTable();
  chartControls();
}

const isNum = (v) => typeof v === 'number' || typeof v === 'bigint';
const cellText = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));

// NULLs last either way; numbers by value; text numeric-aware ("10.0.0.9"
// before "10.0.0.10").
const collator = new Intl.Collator('en', { numeric: true });
function compare(a, b) {
  if (a === null || b === null) return a === null ? (b === null ? 0 : 1) : -1;
  if (isNum(a) && isNum(b)) return a < b ? -1 : a > b ? 1 : 0;
  return collator.compare(cellText(a), cellText(b));
}

function sortBy(name) {
  res.desc = res.sort === name ? !res.desc : false;
  res.sort = name;
  const d = res.desc ? -1 : 1;
  res.order.sort((i, j) => {
    const a = res.rows[i][name], b = res.rows[j][name];
    if (a === null || b === null) return compare(a, b) || i - j;
    return d * compare(a, b) || i - j;
  });
  res.page = 0;
  renderTable();
}

function renderTable() {
  const thead = $('#result thead'), tbody = $('#result tbody');
  const tr = el('tr');
  for (const c of res.cols) {
    const b = el('button', { type: 'button', class: 'sort', text: c.name, title: c.type });
    b.onclick = () => sortBy(c.name);
    const th = el('th', { 'data-col': c.name }, b);
    if (NUMERIC.test(c.type)) th.className = 'n';
    if (res.sort === c.name) th.setAttribute('aria-sort', res.desc ? 'descending' : 'ascending');
    tr.append(th);
  }
  thead.replaceChildren(tr);
  const pages = Math.max(1, Math.ceil(res.rows.length / PAGE));
  const first = res.page * PAGE;
  const body = [];
  for (const i of res.order.slice(first, first + PAGE)) {
    const row = el('tr');
    for (const c of res.cols) {
      const v = res.rows[i][c.name];
      const td = v === null || v === undefined
        ? el('td', { class: 'null', text: 'NULL' })
        : el('td', { text: cellText(v) });
      if (isNum(v)) td.classList.add('n');
      row.append(td);
    }
    body.push(row);
  }
  tbody.replaceChildren(...body);
  if (res.rows.length === 0) {
    tbody.append(el('tr', {}, el('td', { class: 'empty', colSpan: Math.max(1, res.cols.length), text: 'no rows' })));
  }
  $('#page').textContent = res.rows.length
    ? `${fmtNum(first + 1)}–${fmtNum(Math.min(first + PAGE, res.rows.length))} of ${fmtNum(res.rows.length)}`
    : '';
  $('#page').dataset.page = String(res.page + 1);
  $('#prev').disabled = res.page === 0;
  $('#next').disabled = res.page + 1 >= pages;
}

$('#prev').onclick = () => { res.page--; renderTable(); };
$('#next').onclick = () => { res.page++; renderTable(); };

// ---- downloads -----------------------------------------------------------

// RFC 4180: CRLF line ends, a field with a comma, quote or line break in
// quotes, quotes doubled. NULL is an empty field, an empty string "".
function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = cellText(v);
  return s === '' || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCSV() {
  const lines = [res.cols.map((c) => csvField(c.name)).join(',')];
  for (const row of res.rows) lines.push(res.cols.map((c) => csvField(row[c.name])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function download(text, type, ext) {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: `flowlake-${stamp}.${ext}` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

$('#csv').onclick = () => download(toCSV(), 'text/csv', 'csv');
// The server's own JSON, in its row order, exactly as it came.
$('#json').onclick = () => download(res.text, 'application/json', 'json');

// ---- the chart -----------------------------------------------------------

function chartControls() {
  const cx = $('#cx'), cy = $('#cy');
  const num = res.cols.filter((c) => NUMERIC.test(c.type));
  // X first choice: a time column; else a text one, as categories (the
  // blog's top-10 lists); else the first number.
  const xs = [...res.cols.filter((c) => TIME.test(c.type)),
    ...res.cols.filter((c) => !TIME.test(c.type) && !NUMERIC.test(c.type)), ...num];
  cx.replaceChildren(...xs.map((c) => el('option', { value: c.name, text: c.name })));
  const x = xs[0]?.name;
  cy.replaceChildren(...num.map((c, i) => el('label', {},
    el('input', { type: 'checkbox', value: c.name, checked: c.name !== x && i < 7 }), ` ${c.name}`)));
  drawChart();
}

function drawChart() {
  const box = $('#chart');
  plot?.destroy();
  plot = null;
  box.textContent = '';
  box.dataset.series = '0';
  const xName = $('#cx').value;
  const ys = [...$('#cy').querySelectorAll('input:checked')].map((i) => i.value).filter((n) => n !== xName);
  const xc = res.cols.find((c) => c.name === xName);
  if (!xc || ys.length === 0 || res.rows.length === 0 || !window.uPlot) {
    box.append(el('p', { class: 'empty', text: 'pick an X column and at least one numeric Y column' }));
    return;
  }
  const time = TIME.test(xc.type), numeric = NUMERIC.test(xc.type);
  // Times come as UTC text: '2024-05-01', '2024-05-01 00:15:00[.5][+00]'.
  const epoch = (v) => {
    const t = String(v).replace(' ', 'T').slice(0, 19);
    return Date.parse(`${t.length === 10 ? `${t}T00:00:00` : t}Z`) / 1000;
  };
  const xv = (v) => (v === null ? null : time ? epoch(v) : Number(v));
  let idx = res.rows.map((_, i) => i);
  if (time || numeric) idx = idx.filter((i) => res.rows[i][xName] !== null).sort((a, b) => xv(res.rows[a][xName]) - xv(res.rows[b][xName]));
  const labels = idx.map((i) => cellText(res.rows[i][xName]));
  const data = [time || numeric ? idx.map((i) => xv(res.rows[i][xName])) : idx.map((_, k) => k)];
  for (const y of ys) data.push(idx.map((i) => (res.rows[i][y] === null ? null : Number(res.rows[i][y]))));
  const bars = $('#ckind').value === 'bar';
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue('--dim').trim() || '#888';
  const grid = css.getPropertyValue('--line').trim() || '#333';
  const axis = { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } };
  const xAxis = { ...axis };
  if (!time && !numeric) {
    xAxis.values = (u, splits) => splits.map((s) => (Number.isInteger(s) ? labels[s] ?? '' : ''));
  }
  const opts = {
    width: Math.max(300, box.clientWidth), height: 280,
    // The server's times are UTC (the session's time zone); so is the axis.
    tzDate: (t) => window.uPlot.tzDate(new Date(t * 1000), 'Etc/UTC'),
    scales: { x: { time, ...(time || numeric ? {} : { range: (u, lo, hi) => [lo - 0.5, hi + 0.5] }) } },
    // Wide enough for the longest label ("3,716,802").
    axes: [xAxis, { ...axis, size: (u, vals) => 18 + 8 * Math.max(3, ...(vals || []).map((v) => String(v).length)) }],
    series: [{ label: xName }, ...ys.map((y, i) => ({
      label: y, stroke: PALETTE[i % PALETTE.length], width: 2,
      fill: bars ? `${PALETTE[i % PALETTE.length]}88` : undefined,
      paths: bars ? window.uPlot.paths.bars({ size: [0.8 / ys.length, 60], align: 0 }) : undefined,
      points: { show: !bars && data[0].length <= 60 },
    }))],
  };
  plot = new window.uPlot(opts, data, box);
  box.dataset.series = String(ys.length);
}

$('#chartform').addEventListener('change', drawChart);
window.addEventListener('resize', () => plot?.setSize({ width: Math.max(300, $('#chart').clientWidth), height: 280 }));

// ---- start ---------------------------------------------------------------

navBar();
readyList();
ed.value = localStorage.getItem(SQL_ITEM) ?? READY[0][2];
setState('idle', '');
// For the browser test and the curious: the result on show.
window.flowlake = { res, chart: () => plot?.data };
