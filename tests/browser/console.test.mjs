// The SQL console (/console) in a real browser: Debian's chromium,
// headless, driven by playwright-core under Node's test runner. Run by
// tests/integration/test_ui_console.sh, which starts `flowlake serve` with
// a read key and query.max_concurrent = 1 over the records of
// tests/browser/data.sh (in the archive) plus two buffered ones, and passes:
//   FL_URL    the server's base URL
//   FL_KEY    its server.read_key
//   FL_SHOTS  the folder for the screenshot
// The table's cells are compared with POST /api/query's answer to the same
// SQL, and with the values the known records give.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const URL_ = process.env.FL_URL;
const KEY = process.env.FL_KEY;
const SHOTS = process.env.FL_SHOTS;

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
  return { rows: JSON.parse(body), body };
}

// A page whose browser already holds the key, recording uncaught
// exceptions (a refused request's "Failed to load resource" is expected
// here: errors and cancels are what is tested).
async function openConsole() {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  await ctx.addInitScript((k) => localStorage.setItem('flowlake.read_key', k), KEY);
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  await page.goto(`${URL_}/console`);
  await page.waitForSelector('body[data-state="idle"]');
  return { ctx, page, errors };
}

async function runSQL(page, sql, state = 'done') {
  await page.fill('#sql', sql);
  await page.click('#run');
  await page.waitForSelector(`body[data-state="${state}"]`);
}

const cells = (page) => page.$$eval('#result tbody tr', (trs) =>
  trs.map((tr) => [...tr.children].map((td) => td.textContent)));
const heads = (page) => page.$$eval('#result thead th', (ths) => ths.map((th) => th.dataset.col));
const stat = (page, k) => page.getAttribute(`#stats [data-k="${k}"]`, 'data-value');
const asText = (rows, cols) => rows.map((r) => cols.map((c) => (r[c] === null ? 'NULL' : String(r[c]))));

test('the read key is asked for when a query runs, a wrong one refused', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${URL_}/console`);
  await page.waitForSelector('body[data-state="idle"]');
  await page.fill('#sql', 'SELECT count(*) AS n FROM flow_logs');
  await page.click('#run');
  await page.waitForSelector('#keydlg[open]');
  assert.equal(await page.isVisible('#keyerr'), false);
  await page.fill('#key', 'wrong-key');
  await page.click('#keyform button[type="submit"]');
  await page.waitForSelector('#keydlg[open] #keyerr:not([hidden])');
  await page.fill('#key', KEY);
  await page.click('#keyform button[type="submit"]');
  await page.waitForSelector('body[data-state="done"]');
  assert.deepEqual(await cells(page), [['25']]);
  await ctx.close();
});

test('a ready query: the blog\'s rejected packets per protocol, as SQL answers', async () => {
  const { ctx, page, errors } = await openConsole();
  const titles = await page.$$eval('#ready button', (bs) => bs.map((b) => b.textContent));
  assert.ok(titles.length >= 8, 'the blog\'s three and the Athena guide\'s queries');
  assert.deepEqual(await page.$$eval('#ready h3', (hs) => hs.map((h) => h.textContent)),
    ['AWS blog', 'Athena user guide', 'flowlake']);
  await page.click('#ready button[data-ready="0"]');
  await page.waitForSelector('body[data-state="done"]');
  const sql = await page.inputValue('#sql');
  assert.match(sql, /^select protocol, sum\(packets\) as rejected_packets from flow_logs/);
  const want = await query(sql);
  // 100+30+12+40 archived + 9 buffered TCP; 5+3 UDP; 7 ICMP.
  assert.deepEqual(want.rows, [{ protocol: 6, rejected_packets: 191 },
    { protocol: 17, rejected_packets: 8 }, { protocol: 1, rejected_packets: 7 }]);
  assert.deepEqual(await heads(page), ['protocol', 'rejected_packets']);
  assert.deepEqual(await cells(page), asText(want.rows, ['protocol', 'rejected_packets']));
  assert.equal(await stat(page, 'rows'), '3');
  assert.equal(await stat(page, 'files'), '1');
  assert.equal(await stat(page, 'blocks'), '1');
  assert.match(await stat(page, 'time'), /^\d+$/);
  // No time and no text column: the first number is X, the rest Y.
  assert.equal(await page.inputValue('#cx'), 'protocol');
  assert.equal(await page.getAttribute('#chart', 'data-series'), '1');
  // Every ready query runs on this data.
  for (let i = 1; i < titles.length; i++) {
    await page.click(`#ready button[data-ready="${i}"]`);
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]');
    assert.equal(await page.getAttribute('body', 'data-state'), 'done', titles[i]);
  }
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a typed query: paged, sorted by a click, NULL shown, remembered', async () => {
  const { ctx, page, errors } = await openConsole();
  const sql = `SELECT range AS i, range % 7 AS m,
  CASE WHEN range % 5 = 0 THEN NULL ELSE 'r' || range END AS s
FROM range(250)`;
  await runSQL(page, sql);
  const want = await query(sql);
  assert.equal(want.rows.length, 250);
  assert.equal(await stat(page, 'rows'), '250');
  assert.deepEqual(await heads(page), ['i', 'm', 's']);
  let got = await cells(page);
  assert.equal(got.length, 100);
  assert.deepEqual(got, asText(want.rows.slice(0, 100), ['i', 'm', 's']));
  assert.equal(await page.textContent('#page'), '1–100 of 250');
  // A text column is the chart's X (categories), the numbers its series.
  assert.equal(await page.inputValue('#cx'), 's');
  assert.equal(await page.getAttribute('#chart', 'data-series'), '2');
  assert.equal(await page.textContent('#result tbody tr:first-child td:nth-child(3)'), 'NULL');
  assert.equal(await page.getAttribute('#result tbody tr:first-child td:nth-child(3)', 'class'), 'null');
  assert.equal(await page.isDisabled('#prev'), true);
  await page.click('#next');
  assert.equal(await page.textContent('#page'), '101–200 of 250');
  assert.deepEqual(await cells(page), asText(want.rows.slice(100, 200), ['i', 'm', 's']));
  await page.click('#next');
  assert.equal((await cells(page)).length, 50);
  assert.equal(await page.isDisabled('#next'), true);

  // Sort: numbers by value (249 before 99), NULLs last either way.
  await page.click('#result th[data-col="i"] button');
  await page.click('#result th[data-col="i"] button');
  assert.equal(await page.getAttribute('#result th[data-col="i"]', 'aria-sort'), 'descending');
  assert.equal(await page.textContent('#page'), '1–100 of 250');
  got = await cells(page);
  assert.deepEqual(got.slice(0, 3).map((r) => r[0]), ['249', '248', '247']);
  await page.click('#result th[data-col="m"] button');
  got = await cells(page);
  assert.deepEqual(got.slice(0, 3).map((r) => r[0]), ['0', '7', '14']);   // m = 0, ties in the server's order
  await page.click('#result th[data-col="s"] button');
  got = await cells(page);
  assert.deepEqual(got.slice(0, 4).map((r) => r[2]), ['r1', 'r2', 'r3', 'r4']);   // numeric-aware: r2 before r11
  await page.click('#next');
  await page.click('#next');
  got = await cells(page);
  assert.deepEqual(got.slice(-50).map((r) => r[2]), Array(50).fill('NULL'));

  await page.reload();
  await page.waitForSelector('body[data-state="idle"]');
  assert.equal(await page.inputValue('#sql'), sql);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('an error shows its message and marks its line and column in the editor', async () => {
  const { ctx, page, errors } = await openConsole();
  await page.fill('#sql', 'SELECT srcaddr FORM flow_logs');
  await page.press('#sql', 'Control+Enter');
  await page.waitForSelector('body[data-state="error"]');
  assert.equal(await page.textContent('#qerrmsg'), 'syntax error at or near "flow_logs"');
  assert.equal(await page.textContent('#qerrpos'), 'line 1, column 21');
  const sel = await page.$eval('#sql', (t) => [t.selectionStart, t.selectionEnd, document.activeElement === t]);
  assert.deepEqual(sel, [20, 29, true]);

  await runSQL(page, 'SELECT 1 AS one');
  await runSQL(page, 'SELECT srcaddr,\n  dstaddr, nosuch\nFROM flow_logs', 'error');
  // The previous result is not left under the error.
  assert.equal(await page.locator('#result tbody tr').count(), 0);
  assert.match(await page.textContent('#qerrmsg'), /^Binder Error: Referenced column "nosuch" not found/);
  assert.equal(await page.textContent('#qerrpos'), 'line 2, column 12');
  const v = await page.inputValue('#sql');
  const sel2 = await page.$eval('#sql', (t) => [t.selectionStart, t.selectionEnd]);
  assert.equal(v.slice(sel2[0], sel2[1]), 'nosuch');

  // Tab indents instead of leaving the editor.
  await page.fill('#sql', 'SELECT 1');
  await page.focus('#sql');
  await page.keyboard.press('End');
  await page.keyboard.press('Tab');
  assert.equal(await page.inputValue('#sql'), 'SELECT 1  ');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('CSV and JSON downloads hold the whole result, exactly', async () => {
  const { ctx, page, errors } = await openConsole();
  const sql = `SELECT action, count(*) AS n, NULL AS z, 'a,"b"' AS q, '' AS e
FROM flow_logs GROUP BY action ORDER BY action`;
  await runSQL(page, sql);
  let [dl] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
  assert.match(dl.suggestedFilename(), /^flowlake-\d{8}T\d{6}\.csv$/);
  assert.equal(await readFile(await dl.path(), 'utf8'),
    'action,n,z,q,e\r\nACCEPT,17,,"a,""b""",""\r\nREJECT,8,,"a,""b""",""\r\n');
  [dl] = await Promise.all([page.waitForEvent('download'), page.click('#json')]);
  assert.equal(await readFile(await dl.path(), 'utf8'), (await query(sql)).body);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a result drawn as a chart: a time X, numeric Y series, line or bar', async () => {
  const { ctx, page, errors } = await openConsole();
  await runSQL(page, `SELECT time_bucket(INTERVAL 15 MINUTE, start) AS w,
  sum(packets) FILTER (WHERE action = 'REJECT') AS rejected, count(*) AS flows
FROM flow_logs GROUP BY 1 ORDER BY 1`);
  assert.equal(await page.inputValue('#cx'), 'w');
  assert.deepEqual(await page.$$eval('#cy input', (is) => is.map((i) => [i.value, i.checked])),
    [['rejected', true], ['flows', true]]);
  assert.equal(await page.getAttribute('#chart', 'data-series'), '2');
  assert.equal(await page.locator('#chart canvas').count(), 1);
  assert.equal(await page.locator('#chart .u-legend .u-series').count(), 3);   // x + 2
  await page.selectOption('#ckind', 'bar');
  assert.equal(await page.getAttribute('#chart', 'data-series'), '2');
  await page.uncheck('#cy input[value="flows"]');
  assert.equal(await page.getAttribute('#chart', 'data-series'), '1');
  assert.equal(await page.locator('#chart .u-legend .u-series').count(), 2);
  assert.deepEqual(await page.evaluate(() => window.flowlake.chart()), [
    [1714521600, 1714522500, 1714523400, 1714524300, 1714525200],
    [105, 37, 15, 40, 9]]);
  // A DATE column as X.
  await runSQL(page, 'SELECT date, count(*) AS flows FROM flow_logs GROUP BY 1');
  assert.equal(await page.inputValue('#cx'), 'date');
  assert.deepEqual(await page.evaluate(() => window.flowlake.chart()), [[1714521600], [25]]);
  await runSQL(page, `SELECT time_bucket(INTERVAL 15 MINUTE, start) AS w,
  sum(packets) FILTER (WHERE action = 'REJECT') AS rejected, count(*) AS flows
FROM flow_logs GROUP BY 1 ORDER BY 1`);
  await page.screenshot({ path: path.join(SHOTS, 'console.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('cancel stops a long query and frees the server\'s only query slot', async () => {
  const { ctx, page, errors } = await openConsole();
  await page.fill('#sql', 'SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b');
  await page.click('#run');
  await page.waitForSelector('body[data-state="running"]');
  assert.equal(await page.isEnabled('#cancel'), true);
  await page.waitForTimeout(500);
  const t0 = Date.now();
  await page.click('#cancel');
  await page.waitForSelector('body[data-state="cancelled"]', { timeout: 5000 });
  assert.ok(Date.now() - t0 < 3000, `cancelled in ${Date.now() - t0} ms`);
  assert.equal(await page.textContent('#state'), 'cancelled');
  // query.max_concurrent is 1: this runs only if the slot was freed.
  await runSQL(page, 'SELECT 42 AS x');
  assert.deepEqual(await cells(page), [['42']]);
  assert.deepEqual(errors, []);

  // Leaving the page while a query runs cancels it too.
  await page.fill('#sql', 'SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b');
  await page.click('#run');
  await page.waitForSelector('body[data-state="running"]');
  await page.waitForTimeout(500);
  await page.goto('about:blank');
  let status = 0;
  for (let i = 0; i < 30 && status !== 200; i++) {
    const r = await fetch(`${URL_}/api/query`, { method: 'POST', body: 'SELECT 1', headers: { Authorization: `Bearer ${KEY}` } });
    status = r.status;
    if (status !== 200) await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.equal(status, 200, 'the slot is free within 3 s of leaving the page');
  await ctx.close();
});
