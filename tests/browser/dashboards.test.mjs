// Saving a dashboard on a server with an admin key (server.admin_key), in
// a real browser: Debian's chromium driven by playwright-core under Node's
// test runner. Run by tests/integration/test_ui_browser.sh, which starts
// `flowlake serve` with a read key and an admin key and passes:
//   FL_URL    the server's base URL
//   FL_KEY    its server.read_key
//   FL_ADMIN  its server.admin_key
//   FL_SHOTS  the folder for the screenshots
// The page reads with the read key; Save is refused with it (401), so the
// key dialog of common.js asks for the admin key: cancelled, the refusal
// is said next to the buttons; a wrong key is refused again; the right one
// saves, and is kept apart from the read key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const URL_ = process.env.FL_URL;
const KEY = process.env.FL_KEY;
const ADMIN = process.env.FL_ADMIN;
const SHOTS = process.env.FL_SHOTS;
const HASH = '#range=custom&from=2024-05-01T00:00:00Z&to=2024-05-01T02:00:00Z&tz=utc&refresh=0';

let browser;

before(async () => {
  assert.ok(URL_ && KEY && ADMIN && SHOTS, 'FL_URL, FL_KEY, FL_ADMIN and FL_SHOTS must be set');
  const args = ['--headless'];
  // chromium's sandbox needs user namespaces that root in a container lacks.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
});

after(async () => { await browser?.close(); });

test('Save asks for the admin key: cancel says why, a wrong key is refused, the right one saves', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await ctx.addInitScript((k) => localStorage.setItem('flowlake.read_key', k), KEY);
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${URL_}/${HASH}`);
  await page.waitForSelector('body[data-refreshed]');
  await page.click('#edit');
  await page.fill('[data-widget="tcp"] form.editor input[name="title"]', 'TCP (admin)');
  await page.click('[data-widget="tcp"] form.editor button[name="apply"]');

  // The read key is refused for a save: the dialog asks for the admin key.
  await page.click('#save');
  await page.waitForSelector('#keydlg[open]');
  assert.equal(await page.textContent('#keytitle'), 'Admin key');
  assert.match(await page.textContent('#keywhy'), /server\.admin_key/);
  assert.equal(await page.isVisible('#keyerr'), false);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-admin-key.png') });
  await page.click('#keycancel');
  await page.waitForFunction(() => document.querySelector('#editmsg').textContent.startsWith('refused'));
  assert.match(await page.textContent('#editmsg'), /needs the admin key \(server\.admin_key\)/);
  assert.equal(await page.getAttribute('#editmsg', 'class'), 'bad');

  // A wrong admin key: asked again, saying it was refused.
  await page.click('#save');
  await page.waitForSelector('#keydlg[open]');
  await page.fill('#key', 'not-the-admin-key');
  await page.click('#keyform button[type="submit"]');
  await page.waitForSelector('#keydlg[open] #keyerr:not([hidden])');
  assert.equal(await page.textContent('#keytitle'), 'Admin key');
  await page.fill('#key', ADMIN);
  await page.click('#keyform button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('#editmsg').textContent === 'saved VPC-Flow-Log-Analysis');
  // Kept apart: the read key is still the read key.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('flowlake.admin_key')), ADMIN);
  assert.equal(await page.evaluate(() => localStorage.getItem('flowlake.read_key')), KEY);

  // The server holds it; the page still reads (with the read key).
  const r = await fetch(`${URL_}/api/dashboards/VPC-Flow-Log-Analysis`, { headers: { Authorization: `Bearer ${KEY}` } });
  const doc = await r.json();
  assert.equal(doc.widgets[0].title, 'TCP (admin)');
  // One more save with another title, for the shell script's check.
  await page.evaluate(() => { window.flowlake.dashboard().title = "Admin's view"; });
  await page.click('#save');
  await page.waitForFunction(() => document.querySelector('#editmsg').textContent === 'saved VPC-Flow-Log-Analysis');
  await page.reload();
  await page.waitForSelector('body[data-refreshed]');
  assert.equal(await page.textContent('#dashtitle'), "Admin's view");
  assert.match(await page.textContent('[data-widget="tcp"] h2'), /^TCP \(admin\)/);
  assert.deepEqual(errors, []);
  await ctx.close();
});
