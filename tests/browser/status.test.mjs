// The status page (/status) in a real browser: Debian's chromium,
// headless, driven by playwright-core (web/package-lock.json) under
// Node's test runner. Run by tests/integration/test_ui_status.sh, which
// starts `flowlake serve` with a read key and two alarms, sends known
// deliveries (rejected lines among them) and passes:
//   FL_URL       the server's base URL
//   FL_KEY       its server.read_key
//   FL_SHOTS     the folder for the screenshot
//   FL_BAD2_B64  the rejected line that is not UTF-8, base64
// The page must show the figures the APIs give, and those are the values
// the deliveries give; the raw rejected lines must be text, never HTML.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const URL_ = process.env.FL_URL;
const KEY = process.env.FL_KEY;
const SHOTS = process.env.FL_SHOTS;
const BAD2 = Buffer.from(process.env.FL_BAD2_B64 ?? '', 'base64');
const BAD3 = '<script>alert(1)</script> 123456789012 eni-0b2 10.0.2.3 10.9.0.1 40001 443 6 1 100 1714524000 1714524030 ACCEPT OK';
const HASH = '#tz=utc&refresh=0';

let browser;

before(async () => {
  assert.ok(URL_ && KEY && SHOTS && BAD2.length, 'FL_URL, FL_KEY, FL_SHOTS and FL_BAD2_B64 must be set');
  const args = ['--headless'];
  // chromium's sandbox needs user namespaces that root in a container lacks.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
});

after(async () => { await browser?.close(); });

async function getJSON(p) {
  const r = await fetch(`${URL_}${p}`, { headers: { Authorization: `Bearer ${KEY}` } });
  assert.equal(r.status, 200, p);
  return r.json();
}

// A page whose browser already holds the key (as after "remember"), and
// which records console errors, uncaught exceptions and any dialog (an
// alert() would mean a rejected line ran as a script).
async function openStatus() {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await ctx.addInitScript((k) => localStorage.setItem('flowlake.read_key', k), KEY);
  const page = await ctx.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
  await page.goto(`${URL_}/status${HASH}`);
  await page.waitForSelector('body[data-refreshed]');
  return { ctx, page, errors };
}

const cells = (page, sel) => page.$$eval(sel, (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));

test('the read key is asked for, a wrong one refused, the right one used', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${URL_}/status${HASH}`);
  await page.waitForSelector('#keydlg[open]');
  assert.equal(await page.isVisible('#keyerr'), false);
  // Nothing was shown without the key.
  assert.equal(await page.$$eval('[data-widget="sources"] tbody tr', (t) => t.length), 0);
  await page.fill('#key', 'wrong-key');
  await page.click('#keyform button[type="submit"]');
  await page.waitForSelector('#keydlg[open] #keyerr:not([hidden])');
  await page.fill('#key', KEY);
  await page.click('#keyform button[type="submit"]');
  await page.waitForSelector('body[data-refreshed]');
  assert.equal(await page.isVisible('#keydlg'), false);
  assert.deepEqual((await cells(page, '[data-widget="sources"] tr[data-source="ingest"]'))[0].slice(0, 5),
    ['ingest', '2', '25', '4', '0']);
  await ctx.close();
});

test('the page shows the figures of the APIs, which are the deliveries\'', async () => {
  const { ctx, page, errors } = await openStatus();
  await page.screenshot({ path: path.join(SHOTS, 'status.png'), fullPage: true });
  const last = await page.evaluate(() => window.flowlake.last);
  const st = last.status;

  // The navigation bar marks this page.
  assert.equal(await page.textContent('nav.pages a[aria-current="page"]'), 'Status');

  // Sources: the exact counts, and the rate the page was given.
  const src = await cells(page, '[data-widget="sources"] tbody tr[data-source]');
  assert.deepEqual(src.map((r) => r.slice(0, 5)), [
    ['firehose', '1', '12', '0', '0'],
    ['cwl', '1', '1', '0', '0'],
    ['ingest', '2', '25', '4', '0'],
    ['watch', '0', '0', '0', '0'],
    ['demo', '0', '0', '0', '0'],
    ['kafka', '0', '0', '0', '0'],
  ]);
  for (const r of src) {
    const s = st.source_rates[r[0]];
    const rate = s.records_per_second;
    assert.equal(r[5], rate.toFixed(rate >= 100 ? 0 : rate >= 10 ? 1 : 2), `${r[0]} rate`);
    assert.equal(r[6], String(s.rejected_last_minute));
    assert.equal(r[7] === 'never', s.last_request == null, `${r[0]} last request`);
  }
  assert.equal(st.source_rates.ingest.records_last_minute, 25);
  assert.equal(st.source_rates.ingest.rejected_last_minute, 4);
  // The chart's sources: those with records in the last hour.
  assert.deepEqual(await page.$$eval('[data-widget="sources"] .legend [data-series]', (e) => e.map((x) => x.dataset.series)),
    ['firehose', 'cwl', 'ingest']);

  // WAL and buffer.
  const fig = (w, f) => page.textContent(`[data-widget="${w}"] [data-f="${f}"]`);
  assert.equal(await fig('wal', 'buf_records'), '1');
  assert.equal(await fig('wal', 'buf_blocks'), '1');
  assert.equal(await fig('wal', 'unpublished'), '1');
  assert.equal(await fig('wal', 'wal_segments'), String(st.wal.segments));
  assert.ok((await fig('wal', 'wal_seq')).startsWith('4 / 3 / '));
  assert.match(await fig('wal', 'next_publish'), /^in \d+ min/);

  // Publishes: the figures and the two attempts, newest first.
  assert.equal(await fig('publishes', 'records'), '37');
  assert.equal(await fig('publishes', 'files'), '2');
  assert.equal(await fig('publishes', 'failures'), '0');
  assert.deepEqual(last.publishes.publishes.map((p) => p.records), [14, 23]);
  const pubs = await cells(page, '[data-widget="publishes"] tbody tr[data-ok="true"]');
  assert.deepEqual(pubs.map((r) => [r[1], r[2], r[5]]), [['14', '1', '3'], ['23', '1', '1']]);

  // Rejected records: counts by reason, and the samples with their raw
  // lines as text.
  const reasons = await cells(page, '[data-widget="rejects"] table.reasons tbody tr');
  assert.deepEqual(reasons, last.rejects.reasons.map((r) => [r.reason, String(r.count)]));
  assert.deepEqual(reasons, [
    ['expected 14 fields, found 4', '2'],
    ["field 1 (version): '<script>alert(1)</script>' is not a number", '1'],
    ['field 3 (interface-id): invalid UTF-8 byte 0xe9 at byte offset 19 of the line', '1'],
  ]);
  const samples = await page.$$eval('[data-widget="rejects"] table.samples tbody tr', (trs) => trs.map((tr) => ({
    reason: tr.querySelector('td.reason').textContent,
    source: tr.querySelector('td.src').textContent,
    line: tr.children[2].textContent,
    raw: tr.querySelector('td.raw code').textContent,
    rawElements: tr.querySelector('td.raw').querySelectorAll('*').length,
    note: tr.querySelector('td.raw small')?.textContent ?? '',
  })));
  assert.equal(samples.length, 4);
  assert.deepEqual(samples[0], {
    reason: "field 1 (version): '<script>alert(1)</script>' is not a number",
    source: 'POST /ingest from 127.0.0.1', line: '5', raw: BAD3, rawElements: 1, note: '',
  });
  // The line that is not UTF-8: its bytes, the stray one as \xe9.
  const bad2 = BAD2.toString('latin1').replace(/\xe9/g, '\\xe9');
  assert.deepEqual(samples[1], {
    reason: 'field 3 (interface-id): invalid UTF-8 byte 0xe9 at byte offset 19 of the line',
    source: 'POST /ingest from 127.0.0.1', line: '4', raw: bad2, rawElements: 2, note: ' (not UTF-8)',
  });
  assert.deepEqual(samples.slice(2).map((x) => [x.line, x.raw]),
    [['3', '2 123456789012 eni-0b2 10.0.2.1'], ['2', '2 123456789012 eni-0b2 10.0.2.1']]);
  // No element of the page came from a rejected line: the only scripts
  // are the page's own two.
  assert.equal(await page.$$eval('script', (s) => s.length), 2);
  assert.equal(await page.$$eval('main script', (s) => s.length), 0);

  // Metric lag: each start-time metric's watermark and newest final window.
  const lag = await cells(page, '[data-widget="lag"] tbody tr[data-metric]');
  const byName = Object.fromEntries(lag.map((r) => [r[0], r]));
  assert.deepEqual(byName.rejected_tcp_packets.slice(1, 4), ['15 min', '2024-05-01 00:35:00 UTC', '2024-05-01 00:30:00 UTC']);
  assert.deepEqual(byName.rejected_packets_by_protocol.slice(1, 4), ['15 min', '2024-05-01 00:35:00 UTC', '2024-05-01 00:30:00 UTC']);
  assert.deepEqual(lag.map((r) => r[0]), st.metrics.per_metric.map((m) => m.metric));

  // Alarms: states and the history, newest first, as the API gives it.
  const alarms = await page.$$eval('ul.alarms li[data-alarm]', (lis) => lis.map((li) => [li.dataset.alarm, li.dataset.state]));
  assert.deepEqual(alarms, [['tcp_high', 'ALARM'], ['gre_quiet', 'INSUFFICIENT_DATA']]);
  const hist = await getJSON('/api/alarms/history?limit=50');
  const rows = await page.$$eval('table.history tbody tr[data-alarm]', (trs) =>
    trs.map((tr) => [tr.dataset.alarm, tr.children[2].textContent, tr.children[3].textContent]));
  assert.deepEqual(rows, hist.history.map((h) => [h.alarm, 'Insufficient data → In alarm', h.reason]));
  assert.equal(rows.length, 1);

  assert.deepEqual(errors, []);
  await ctx.close();
});

test('refresh: the interval in the URL, and ↻ fetches again', async () => {
  const { ctx, page, errors } = await openStatus();
  const n = Number(await page.getAttribute('body', 'data-refreshed'));
  await page.click('#reload');
  await page.waitForFunction((k) => Number(document.body.dataset.refreshed) > k, n);
  await page.selectOption('#refresh', '10');
  await page.waitForFunction(() => location.hash.includes('refresh=10'));
  await page.reload();
  await page.waitForSelector('body[data-refreshed]');
  assert.equal(await page.inputValue('#refresh'), '10');
  // The next automatic refresh comes by itself.
  await page.waitForFunction(() => Number(document.body.dataset.refreshed) >= 2, null, { timeout: 15000 });
  assert.deepEqual(errors, []);
  await ctx.close();
});
