// The web UI in a real browser: Debian's chromium, headless, driven by
// playwright-core (web/package-lock.json) under Node's test runner. Run by
// tests/integration/test_ui_browser.sh, which starts `flowlake serve` with
// a read key and two alarms, posts the records of tests/browser/data.sh,
// and passes:
//   FL_URL    the server's base URL
//   FL_KEY    its server.read_key
//   FL_SHOTS  the folder for the screenshots
// Every widget's figures are compared with the answer of SQL over the same
// data and range (POST /api/query) and with the values the known records
// give; then edit mode, the "new…" dashboard, and a bar widget.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const URL_ = process.env.FL_URL;
const KEY = process.env.FL_KEY;
const SHOTS = process.env.FL_SHOTS;
// The known records span 00:00-00:51 of this day; two hours of it.
const FROM = '2024-05-01T00:00:00Z';
const TO = '2024-05-01T02:00:00Z';
const HASH = `#range=custom&from=${FROM}&to=${TO}&tz=utc&refresh=0`;
const T_FROM = "TIMESTAMP '2024-05-01 00:00:00'";
const T_TO = "TIMESTAMP '2024-05-01 02:00:00'";

let browser;

before(async () => {
  assert.ok(URL_ && KEY && SHOTS, 'FL_URL, FL_KEY and FL_SHOTS must be set');
  const args = ['--headless'];
  // chromium's sandbox needs user namespaces that root in a container lacks.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
});

after(async () => { await browser?.close(); });

async function query(sql) {
  const r = await fetch(`${URL_}/api/query?format=json`, {
    method: 'POST', body: sql, headers: { Authorization: `Bearer ${KEY}` },
  });
  const body = await r.text();
  assert.equal(r.status, 200, `SQL failed: ${sql}: ${body}`);
  return JSON.parse(body);
}

async function getJSON(p) {
  const r = await fetch(`${URL_}${p}`, { headers: { Authorization: `Bearer ${KEY}` } });
  assert.equal(r.status, 200, p);
  return r.json();
}

// A page whose browser already holds the key (as after "remember"), and
// which records every console error and uncaught exception.
// Every API request the page makes is kept in `requests` (method and path).
async function openDashboard(viewport = { width: 1400, height: 1000 }, hash = HASH) {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  await ctx.addInitScript((k) => localStorage.setItem('flowlake.read_key', k), KEY);
  const page = await ctx.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) requests.push(`${r.method()} ${u.pathname}`);
  });
  await page.goto(`${URL_}/${hash}`);
  await page.waitForSelector('body[data-refreshed]');
  return { ctx, page, errors, requests };
}

// Runs ACTION, then waits until the page has drawn a refresh begun by it
// (or later). Counting finished refreshes is not enough: one begun before
// ACTION (the edit button's, say, which nothing waits for) may end while
// ACTION runs, and ACTION's own refresh may not have drawn yet -- a SQL
// widget just rendered by "apply" would still have an empty table.
async function nextRefresh(page, action) {
  const g = Number(await page.getAttribute('body', 'data-generation'));
  await action();
  await page.waitForFunction((k) => Number(document.body.dataset.drawn) > k, g);
}

// A table widget's rows: the key and the named columns (data-* of each row).
const rowsOf = (page, widget, cols = ['flows', 'bytes', 'packets']) => page.$$eval(
  `[data-widget="${widget}"] tbody tr[data-k]`,
  (trs, cs) => trs.map((tr) => Object.fromEntries([['k', tr.dataset.k],
    ...cs.map((c) => [c, Number(tr.dataset[c])])])), cols);
const pick = (rows, cols) => rows.map((r) => Object.fromEntries(['k', ...cols].map((c) => [c, r[c]])));

test('the read key is asked for, a wrong one refused, the right one used', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${URL_}/${HASH}`);
  await page.waitForSelector('#keydlg[open]');
  assert.equal(await page.isVisible('#keyerr'), false);
  await page.fill('#key', 'wrong-key');
  await page.click('#keyform button[type="submit"]');
  await page.waitForSelector('#keydlg[open] #keyerr:not([hidden])');
  await page.fill('#key', KEY);
  await page.click('#keyform button[type="submit"]');
  await page.waitForSelector('body[data-refreshed]');
  assert.equal(await page.isVisible('#keydlg'), false);
  assert.equal(await page.textContent('[data-widget="tcp"] [data-total]'), '182');
  // Kept for the tab (sessionStorage), not for the device: not ticked.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('flowlake.read_key')), KEY);
  assert.equal(await page.evaluate(() => localStorage.getItem('flowlake.read_key')), null);
  await ctx.close();
});

test('every widget shows what SQL over the same data and range answers', async () => {
  const { ctx, page, errors, requests } = await openDashboard();
  // The server's cost of the default dashboard: its document, the list,
  // ONE batch of every metric read, the status and the alarms -- no SQL
  // worker (POST /api/query) at all.
  assert.deepEqual([...requests].sort(), [
    'GET /api/alarms', 'GET /api/alarms/history', 'GET /api/dashboards',
    'GET /api/dashboards/VPC-Flow-Log-Analysis', 'GET /api/status', 'POST /api/metrics/batch']);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });

  // Rejected TCP packets: per window, final or provisional, as the metric store says.
  const tcpSQL = await query(`SELECT epoch(window_start)::BIGINT AS t, value, final
    FROM vpc_flow_logs.metrics WHERE metric = 'rejected_tcp_packets'
    AND window_start >= ${T_FROM} AND window_start < ${T_TO} ORDER BY t`);
  assert.deepEqual(tcpSQL.map((r) => [r.value, r.final]),
    [[100, true], [30, true], [12, false], [40, false]]);
  const tcp = await page.evaluate(() => window.flowlake.last.tcp);
  assert.equal(tcp.xs.length, 8);   // every 15-minute window of the two hours
  for (const r of tcpSQL) {
    const i = tcp.xs.indexOf(r.t);
    assert.ok(i >= 0, `window ${r.t} drawn`);
    assert.equal(tcp.vals[i], r.value);
    assert.equal(tcp.finals[i], r.final);
  }
  assert.equal(tcp.vals.reduce((a, b) => a + b, 0), 182);
  assert.equal(await page.getAttribute('[data-widget="tcp"] [data-total]', 'data-total'), '182');

  // Rejected packets per protocol: legend totals and picker names.
  const protoSQL = await query(`SELECT dimensions['protocol'] AS p, SUM(value) AS v
    FROM vpc_flow_logs.metrics WHERE metric = 'rejected_packets_by_protocol'
    AND window_start >= ${T_FROM} AND window_start < ${T_TO} GROUP BY 1 ORDER BY p::INT`);
  assert.deepEqual(protoSQL, [{ p: '1', v: 7 }, { p: '6', v: 182 }, { p: '17', v: 8 }]);
  const legend = await page.$$eval('[data-widget="proto"] .legend [data-series]',
    (els) => els.map((e) => ({ p: e.dataset.series, v: Number(e.dataset.total) })));
  assert.deepEqual(legend, protoSQL);
  assert.deepEqual(await page.$$eval('[data-widget="proto"] .picker label', (ls) => ls.map((l) => l.textContent.trim())),
    ['ICMP (1)', 'TCP (6)', 'UDP (17)']);

  // Accepted vs rejected flows, bytes, packets.
  const actSQL = await query(`SELECT action AS k, COUNT(*) AS flows, SUM(bytes) AS bytes,
    SUM(packets) AS packets FROM flow_logs WHERE start >= ${T_FROM} AND start < ${T_TO}
    GROUP BY action ORDER BY action`);
  assert.deepEqual(actSQL, [
    { k: 'ACCEPT', flows: 16, bytes: 59378, packets: 91 },
    { k: 'REJECT', flows: 7, bytes: 12140, packets: 197 }]);
  assert.deepEqual(await rowsOf(page, 'actions'), actSQL);

  // Top talkers by bytes: the ten largest, then "other" = the rest.
  const srcSQL = await query(`SELECT srcaddr AS k, COUNT(*) AS flows, SUM(bytes) AS bytes,
    SUM(packets) AS packets FROM flow_logs WHERE start >= ${T_FROM} AND start < ${T_TO}
    GROUP BY srcaddr ORDER BY bytes DESC, srcaddr`);
  assert.equal(srcSQL.length, 19);
  const rest = srcSQL.slice(10);
  const other = { k: 'other', flows: 0, bytes: 0, packets: 0 };
  for (const r of rest) for (const c of ['flows', 'bytes', 'packets']) other[c] += r[c];
  assert.deepEqual(other, { k: 'other', flows: 9, bytes: 936, packets: 9 });
  // The widget reads the built-in metric top_talkers_bytes (with
  // top_talkers_flows), summed over the range's windows: bytes and flows.
  assert.deepEqual(await rowsOf(page, 'talkers', ['bytes', 'flows']),
    pick([...srcSQL.slice(0, 10), other], ['bytes', 'flows']));
  assert.equal(await page.textContent('[data-widget="talkers"] tbody tr:first-child td:nth-child(2)'), '10.0.0.3');

  // Top rejected sources by packets.
  const rejSQL = await query(`SELECT srcaddr AS k, COUNT(*) AS flows, SUM(bytes) AS bytes,
    SUM(packets) AS packets FROM flow_logs WHERE start >= ${T_FROM} AND start < ${T_TO}
    AND action = 'REJECT' GROUP BY srcaddr ORDER BY packets DESC, srcaddr`);
  assert.deepEqual(rejSQL.map((r) => [r.k, r.packets]),
    [['10.0.0.1', 170], ['10.0.0.5', 12], ['10.0.0.2', 8], ['10.0.0.4', 7]]);
  assert.deepEqual(await rowsOf(page, 'rejected', ['packets', 'flows']), pick(rejSQL, ['packets', 'flows']));

  // Ingest: records accepted and the watermark, as /api/status says.
  const status = await getJSON('/api/status');
  const fig = (f) => page.getAttribute(`[data-widget="ingest"] [data-f="${f}"]`, 'data-value');
  assert.equal(await fig('records'), '23');
  assert.equal(status.sources.ingest.records, 23);
  // Newest start 00:50 minus allowed_lateness 15 min.
  assert.equal(status.metrics.watermark_start, 1714523700);
  assert.equal(await fig('watermark'), '1714523700');
  assert.equal(await page.textContent('[data-widget="ingest"] [data-f="watermark"]'), '2024-05-01 00:35:00 UTC');

  // Alarms as CloudWatch shows them: state, colour, history.
  const alarms = await getJSON('/api/alarms');
  assert.deepEqual(alarms.map((a) => [a.name, a.state]),
    [['tcp_high', 'ALARM'], ['gre_quiet', 'INSUFFICIENT_DATA']]);
  const shown = await page.$$eval('ul.alarms li[data-alarm]', (lis) => lis.map((li) => {
    const s = li.querySelector('.state');
    return [li.dataset.alarm, li.dataset.state, s.textContent, getComputedStyle(s).backgroundColor];
  }));
  assert.deepEqual(shown, [
    ['tcp_high', 'ALARM', 'In alarm', 'rgb(209, 50, 18)'],
    ['gre_quiet', 'INSUFFICIENT_DATA', 'Insufficient data', 'rgb(125, 137, 152)']]);
  const hist = await query(`SELECT alarm, old_state, new_state FROM vpc_flow_logs.alarm_history
    ORDER BY time DESC, alarm`);
  assert.deepEqual(hist, [{ alarm: 'tcp_high', old_state: 'INSUFFICIENT_DATA', new_state: 'ALARM' }]);
  const histShown = await page.$$eval('table.history tbody tr[data-alarm]', (trs) =>
    trs.map((tr) => [tr.dataset.alarm, tr.children[2].textContent]));
  assert.deepEqual(histShown, [['tcp_high', 'Insufficient data → In alarm']]);

  assert.deepEqual(errors, []);
  // A wall screen: the same page at 2560x1440.
  await page.setViewportSize({ width: 2560, height: 1440 });
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-wall.png') });
  await ctx.close();
});

test('the protocol picker changes the series; the state in the URL survives a reload', async () => {
  const { ctx, page, errors } = await openDashboard();
  await page.uncheck('[data-widget="proto"] .picker label[data-proto="17"] input');
  const series = () => page.$$eval('[data-widget="proto"] .legend [data-series]', (els) => els.map((e) => e.dataset.series));
  assert.deepEqual(await series(), ['1', '6']);
  const proto = await page.evaluate(() => Object.keys(window.flowlake.last.proto));
  assert.deepEqual(proto.sort(), ['1', '6']);
  assert.match(page.url(), /protos=1,6/);
  assert.match(page.url(), /range=custom&from=2024-05-01T00:00:00Z&to=2024-05-01T02:00:00Z/);

  await page.reload();
  await page.waitForSelector('body[data-refreshed]');
  assert.deepEqual(await series(), ['1', '6']);
  assert.equal(await page.isChecked('[data-widget="proto"] .picker label[data-proto="17"] input'), false);
  assert.equal(await page.isChecked('[data-widget="proto"] .picker label[data-proto="6"] input'), true);
  assert.equal(await page.getAttribute('.ranges button[data-range="custom"]', 'aria-pressed'), 'true');
  assert.equal(await page.inputValue('#from'), '2024-05-01T00:00');
  assert.equal(await page.inputValue('#to'), '2024-05-01T02:00');
  assert.equal(await page.textContent('#span'), '2024-05-01 00:00:00 UTC – 2024-05-01 02:00:00 UTC');

  // A preset range and the time zone go into the URL as well.
  await page.click('.ranges button[data-range="6h"]');
  await page.waitForFunction(() => location.hash.includes('range=6h'));
  await page.selectOption('#tz', 'local');
  await page.waitForFunction(() => location.hash.includes('tz=local'));
  await page.reload();
  await page.waitForSelector('body[data-refreshed]');
  assert.equal(await page.getAttribute('.ranges button[data-range="6h"]', 'aria-pressed'), 'true');
  assert.equal(await page.inputValue('#tz'), 'local');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('edit mode: a title changed and saved survives a reload; export, import, reset', async () => {
  const { ctx, page, errors } = await openDashboard();
  const title = () => page.textContent('[data-widget="tcp"] h2');
  assert.match(await title(), /^Rejected TCP packets/);
  await page.click('#edit');
  await page.waitForSelector('[data-widget="tcp"] form.editor');
  await page.fill('[data-widget="tcp"] form.editor input[name="title"]', 'TCP refused');
  await nextRefresh(page, () => page.click('[data-widget="tcp"] form.editor button[name="apply"]'));
  assert.match(await title(), /^TCP refused/);
  assert.equal(await page.textContent('#editmsg'), 'changed, not saved');
  // Moved one column right, then back: the grid position follows.
  await nextRefresh(page, () => page.click('[data-widget="alarms"] form.editor button[name="left"]'));
  assert.equal(await page.evaluate(() => window.flowlake.dashboard().widgets.find((w) => w.id === 'alarms').x), 3);
  await nextRefresh(page, () => page.click('[data-widget="alarms"] form.editor button[name="right"]'));
  // A generic SQL widget added: its rows are the statement's.
  await page.selectOption('#addtype', 'sql');
  await nextRefresh(page, () => page.click('#add'));
  const added = await page.evaluate(() => window.flowlake.dashboard().widgets.at(-1));
  assert.equal(added.type, 'sql');
  const sel = `[data-widget="${added.id}"]`;
  await page.fill(`${sel} form.editor textarea[name="sql"]`,
    'SELECT action, COUNT(*) AS flows FROM flow_logs GROUP BY action ORDER BY action');
  await nextRefresh(page, () => page.click(`${sel} form.editor button[name="apply"]`));
  assert.deepEqual(await page.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent))),
    [['ACCEPT', '16'], ['REJECT', '7']]);
  await page.click('#save');
  await page.waitForFunction(() => document.querySelector('#editmsg').textContent === 'saved VPC-Flow-Log-Analysis');
  const saved = await getJSON('/api/dashboards/VPC-Flow-Log-Analysis');
  assert.equal(saved.widgets[0].title, 'TCP refused');
  assert.equal(saved.widgets.length, 8);

  await page.reload();
  await page.waitForSelector('body[data-refreshed]');
  assert.match(await title(), /^TCP refused/);
  assert.equal(await page.textContent(`${sel} tbody tr td`), 'ACCEPT');
  // The table widgets still agree after the reload.
  assert.equal(await page.getAttribute('[data-widget="tcp"] [data-total]', 'data-total'), '182');

  // Export: the document as a file.
  await page.click('#edit');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.equal(download.suggestedFilename(), 'VPC-Flow-Log-Analysis.json');
  const chunks = [];
  for await (const c of await download.createReadStream()) chunks.push(c);
  const exported = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  assert.deepEqual(exported, saved);

  // Import: a file with another title is PUT and drawn.
  exported.title = 'Imported view';
  exported.widgets = exported.widgets.filter((w) => w.type !== 'sql');
  await nextRefresh(page, () => page.setInputFiles('#import', {
    name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(exported)) }));
  assert.equal(await page.textContent('#dashtitle'), 'Imported view');
  assert.equal(await page.textContent('#editmsg'), 'imported mine.json as VPC-Flow-Log-Analysis');
  assert.equal((await getJSON('/api/dashboards/VPC-Flow-Log-Analysis')).title, 'Imported view');
  // A file that is not a dashboard is refused with the server's reason.
  await page.setInputFiles('#import', { name: 'bad.json', mimeType: 'application/json',
    buffer: Buffer.from('{"widgets": [{"type": "pie", "w": 1, "h": 1, "x": 0, "y": 0}]}') });
  await page.waitForFunction(() => document.querySelector('#editmsg').textContent.startsWith('400'));
  assert.match(await page.textContent('#editmsg'), /unknown type "pie"/);

  // Reset: the saved one removed, the default back.
  await nextRefresh(page, () => page.click('#reset'));
  assert.equal(await page.textContent('#dashtitle'), 'VPC-Flow-Log-Analysis');
  assert.match(await title(), /^Rejected TCP packets/);
  assert.equal((await getJSON('/api/dashboards')).map((d) => d.source).join(), 'default');
  assert.match(page.url(), /dashboard=VPC-Flow-Log-Analysis/);
  // remove: the widget and its card go (not saved: the server keeps the default).
  await nextRefresh(page, () => page.click('[data-widget="ingest"] form.editor button[name="remove"]'));
  assert.equal(await page.$('[data-widget="ingest"]'), null);
  assert.deepEqual(await page.evaluate(() => window.flowlake.dashboard().widgets.map((w) => w.id)),
    ['tcp', 'proto', 'actions', 'talkers', 'rejected', 'alarms']);
  assert.equal(await page.textContent('#editmsg'), 'changed, not saved');
  assert.equal((await getJSON('/api/dashboards/default')).widgets.length, 7);
  assert.deepEqual(errors.filter((e) => !/400/.test(e)), []);
  await ctx.close();
});

// An API call with the read key that is not a GET: its status and body.
async function send(method, p, body) {
  const r = await fetch(`${URL_}${p}`, { method, body, headers: { Authorization: `Bearer ${KEY}` } });
  return { status: r.status, text: await r.text() };
}

test('edit mode: "new…" makes a copy under a new name, saved on the server, shown after a reload', async () => {
  const { ctx, page, errors } = await openDashboard();
  const prompts = [];
  // The answers to window.prompt, in turn: cancelled, a bad name, a good one.
  const answers = [null, 'bad name/x', 'team-a.v1'];
  page.on('dialog', async (d) => {
    prompts.push([d.type(), d.message()]);
    const a = answers.shift();
    if (a == null) await d.dismiss(); else await d.accept(a);
  });
  await page.click('#edit');
  const options = () => page.$$eval('#dashboard option', (os) => os.map((o) => o.value));
  assert.deepEqual(await options(), ['VPC-Flow-Log-Analysis', '']);

  // Cancelled: nothing changes.
  await page.selectOption('#dashboard', '');
  await page.waitForFunction(() => document.querySelector('#dashboard').value === 'VPC-Flow-Log-Analysis');
  assert.equal(await page.textContent('#editmsg'), '');
  // Not a dashboard name: said, and the select goes back.
  await page.selectOption('#dashboard', '');
  await page.waitForFunction(() => document.querySelector('#editmsg').textContent === 'not a dashboard name: bad name/x');
  assert.equal(await page.inputValue('#dashboard'), 'VPC-Flow-Log-Analysis');
  assert.match(page.url(), /dashboard=VPC-Flow-Log-Analysis/);

  // A good name: the page shows a copy of the dashboard under it, not saved yet.
  await nextRefresh(page, () => page.selectOption('#dashboard', ''));
  assert.deepEqual(prompts, [['prompt', 'Name of the new dashboard (A-Z a-z 0-9 . _ -)'],
    ['prompt', 'Name of the new dashboard (A-Z a-z 0-9 . _ -)'],
    ['prompt', 'Name of the new dashboard (A-Z a-z 0-9 . _ -)']]);
  assert.match(page.url(), /dashboard=team-a\.v1(&|$)/);
  assert.equal(await page.textContent('#dashtitle'), 'team-a.v1');
  assert.equal(await page.textContent('#editmsg'), 'changed, not saved');
  await page.waitForFunction(() => document.querySelector('#dashboard').value === 'team-a.v1');
  assert.deepEqual(await options(), ['VPC-Flow-Log-Analysis', 'team-a.v1', '']);
  assert.deepEqual((await getJSON('/api/dashboards')).map((d) => d.name), ['VPC-Flow-Log-Analysis']);
  assert.equal((await send('GET', '/api/dashboards/team-a.v1')).status, 404);

  // Save: the server holds it under the new name, a copy of the default's widgets.
  await page.click('#save');
  await page.waitForFunction(() => document.querySelector('#editmsg').textContent === 'saved team-a.v1');
  const list = await getJSON('/api/dashboards');
  assert.deepEqual(list.map((d) => [d.name, d.title, d.source]),
    [['VPC-Flow-Log-Analysis', 'VPC-Flow-Log-Analysis', 'default'], ['team-a.v1', 'team-a.v1', 'saved']]);
  const saved = await getJSON('/api/dashboards/team-a.v1');
  const def = await getJSON('/api/dashboards/VPC-Flow-Log-Analysis');
  assert.equal(saved.name, 'team-a.v1');
  assert.equal(saved.title, 'team-a.v1');
  assert.deepEqual(saved.widgets, def.widgets);

  // A reload shows it (the name is in the URL), with the default's figures.
  await page.reload();
  await page.waitForSelector('body[data-refreshed]');
  assert.match(page.url(), /dashboard=team-a\.v1(&|$)/);
  assert.equal(await page.textContent('#dashtitle'), 'team-a.v1');
  assert.equal(await page.inputValue('#dashboard'), 'team-a.v1');
  assert.equal(await page.title(), 'team-a.v1 · flowlake');
  assert.deepEqual(await page.$$eval('#widgets section.card', (cs) => cs.map((c) => c.dataset.widget)),
    ['tcp', 'proto', 'actions', 'talkers', 'rejected', 'ingest', 'alarms']);
  assert.equal(await page.getAttribute('[data-widget="tcp"] [data-total]', 'data-total'), '182');
  // Back to the default through the list, and to the new one again.
  await nextRefresh(page, () => page.selectOption('#dashboard', 'VPC-Flow-Log-Analysis'));
  assert.equal(await page.textContent('#dashtitle'), 'VPC-Flow-Log-Analysis');
  assert.match(page.url(), /dashboard=VPC-Flow-Log-Analysis/);
  await nextRefresh(page, () => page.selectOption('#dashboard', 'team-a.v1'));
  assert.equal(await page.textContent('#dashtitle'), 'team-a.v1');
  assert.equal(prompts.length, 3);
  assert.deepEqual(errors, []);
  await ctx.close();
  assert.equal((await send('DELETE', '/api/dashboards/team-a.v1')).status, 200);
});

test('a metric widget with options.chart = "bar" is drawn with bars, with the metric\'s values', async () => {
  const doc = {
    name: 'bars', title: 'Bars',
    widgets: [
      { id: 'tcpbars', type: 'metric', title: 'Rejected TCP packets (bars)', metric: 'rejected_tcp_packets',
        w: 6, h: 4, x: 0, y: 0, options: { chart: 'bar', total: true } },
      { id: 'tcpline', type: 'metric', title: 'Rejected TCP packets (line)', metric: 'rejected_tcp_packets',
        w: 6, h: 4, x: 6, y: 0, options: { chart: 'line' } },
    ],
  };
  assert.equal((await send('PUT', '/api/dashboards/bars', JSON.stringify(doc))).status, 200);
  // Another kind is refused, naming the widget and the field.
  const bad = structuredClone(doc);
  bad.widgets[1].options.chart = 'column';
  const refused = await send('PUT', '/api/dashboards/bars', JSON.stringify(bad));
  assert.equal(refused.status, 400);
  assert.equal(JSON.parse(refused.text).error, 'widget 1: "options.chart" must be "line" or "bar"');
  assert.deepEqual(await getJSON('/api/dashboards/bars'), doc);

  const { ctx, page, errors, requests } = await openDashboard(undefined, `${HASH}&dashboard=bars`);
  assert.equal(await page.textContent('#dashtitle'), 'Bars');
  assert.equal(await page.getAttribute('[data-widget="tcpbars"]', 'data-chart'), 'bar');
  assert.equal(await page.getAttribute('[data-widget="tcpline"]', 'data-chart'), 'line');
  // One batch for both widgets; no alarms widget, so no alarms requests.
  assert.deepEqual([...requests].sort(), ['GET /api/dashboards', 'GET /api/dashboards/bars',
    'GET /api/status', 'POST /api/metrics/batch']);

  // The values: the metric store's, window by window, as SQL answers them.
  const tcpSQL = await query(`SELECT epoch(window_start)::BIGINT AS t, value, final
    FROM vpc_flow_logs.metrics WHERE metric = 'rejected_tcp_packets'
    AND window_start >= ${T_FROM} AND window_start < ${T_TO} ORDER BY t`);
  const t0 = 1714521600;
  assert.deepEqual(tcpSQL, [{ t: t0, value: 100, final: true }, { t: t0 + 900, value: 30, final: true },
    { t: t0 + 1800, value: 12, final: false }, { t: t0 + 2700, value: 40, final: false }]);
  const bars = await page.evaluate(() => window.flowlake.last.tcpbars);
  assert.deepEqual(bars.xs, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => t0 + 900 * i));
  assert.deepEqual(bars.vals, [100, 30, 12, 40, 0, 0, 0, 0]);
  assert.deepEqual(bars.finals, [true, true, false, false, false, false, false, false]);
  for (const r of tcpSQL) assert.equal(bars.vals[bars.xs.indexOf(r.t)], r.value);
  assert.equal(await page.getAttribute('[data-widget="tcpbars"] [data-total]', 'data-total'), '182');
  assert.deepEqual(await page.evaluate(() => window.flowlake.last.tcpline), bars);

  // The canvas of each, read once (a second read of a canvas makes
  // chromium warn on the console): the pixels of the series colour
  // (#e94f37), and the runs of columns with a vertical stretch of 20
  // pixels or more in it -- the filled bars (a dashed provisional outline
  // has 4-pixel dashes).
  const pixels = (w) => page.$eval(`[data-widget="${w}"] canvas`, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    const runs = [];
    for (let x = 0; x < c.width; x++) {
      let best = 0, cur = 0;
      for (let y = 0; y < c.height; y++) {
        const i = 4 * (y * c.width + x);
        const hit = d[i] === 0xe9 && d[i + 1] === 0x4f && d[i + 2] === 0x37;
        if (hit) n++;
        cur = hit ? cur + 1 : 0;
        best = Math.max(best, cur);
      }
      const r = runs.at(-1);
      if (best >= 20) {
        if (r && r.end === x - 1) { r.end = x; r.h = Math.max(r.h, best); } else runs.push({ start: x, end: x, h: best });
      }
    }
    return { n, solid: runs.map((r) => ({ w: r.end - r.start + 1, h: r.h })) };
  });
  const pb = await pixels('tcpbars'), pl = await pixels('tcpline');
  // Bars fill: many times the pixels of the same values as a 2-pixel line.
  assert.ok(pb.n > 4 * pl.n && pb.n > 2000, `bar pixels ${pb.n}, line pixels ${pl.n}`);
  assert.deepEqual(pl.solid, []);
  // Two filled bars, the final windows 100 and 30: as wide as each other
  // (neither cut by the plot's edge), their heights in the ratio 100:30.
  const { solid } = pb;
  assert.equal(solid.length, 2, JSON.stringify(solid));
  assert.ok(Math.abs(solid[0].w - solid[1].w) <= 1 && solid[0].w >= 10, JSON.stringify(solid));
  const ratio = solid[0].h / solid[1].h;
  assert.ok(ratio > 100 / 30 - 0.15 && ratio < 100 / 30 + 0.15, `bar heights ${JSON.stringify(solid)}`);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-bars.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
  assert.equal((await send('DELETE', '/api/dashboards/bars')).status, 200);
});

test('a SQL widget gets the answer of its newest statement, and a refresh that ends late is not taken for a newer one', async () => {
  const { ctx, page, errors } = await openDashboard();
  await page.click('#edit');
  await page.selectOption('#addtype', 'sql');
  await nextRefresh(page, () => page.click('#add'));
  const id = await page.evaluate(() => window.flowlake.dashboard().widgets.at(-1).id);
  const sel = `[data-widget="${id}"]`;
  const table = () => page.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const want = [['ACCEPT', '16'], ['REJECT', '7']];
  assert.deepEqual(await table(), want);
  const apply = () => page.click(`${sel} form.editor button[name="apply"]`);
  const sent = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/query') sent.push(r.postData()); });
  // hold(PATTERN): keeps the page's requests to PATTERN unanswered until
  // release() lets them go on.
  const hold = async (pattern) => {
    const held = [];
    await page.route(pattern, (route) => { held.push(route); });
    return {
      held,
      release: async () => { for (const r of held) await r.continue(); await page.unroute(pattern); },
    };
  };
  const until = async (f) => { while (!f()) await new Promise((ok) => setTimeout(ok, 10)); };

  // The queue: "apply" three times while the first refresh's statement is
  // unanswered. The second refresh's statement, replaced before it could
  // start, is never sent; the third's is, once the first is answered, and
  // its rows are drawn.
  const q = await hold('**/api/query*');
  await nextRefresh(page, async () => {
    await apply();
    await until(() => q.held.length === 1);
    await page.fill(`${sel} form.editor textarea[name="sql"]`,
      'SELECT action, COUNT(*) AS n FROM flow_logs GROUP BY action ORDER BY action DESC');
    await apply();
    await apply();
    await q.release();
  });
  assert.deepEqual(await table(), [['REJECT', '7'], ['ACCEPT', '16']]);
  assert.equal(await page.textContent(`${sel} thead`), 'actionn');
  assert.equal(sent.length, 2, JSON.stringify(sent));
  assert.match(sent[1], /AS n FROM/);

  // The wait: a refresh begun before an action and ending while it runs
  // (here the reload button's, its metrics held) counts as a refresh, but
  // is not the action's. With the count alone, the wait would return while
  // the table "apply" just rendered is still empty.
  const m = await hold('**/api/metrics/batch');
  await page.click('#reload');
  await until(() => m.held.length === 1);
  const count = Number(await page.getAttribute('body', 'data-refreshed'));
  await nextRefresh(page, async () => {
    await m.release();
    await page.waitForFunction((k) => Number(document.body.dataset.refreshed) > k, count);
    await apply();
  });
  assert.deepEqual(await table(), [['REJECT', '7'], ['ACCEPT', '16']]);
  assert.deepEqual(errors, []);
  await ctx.close();
});
