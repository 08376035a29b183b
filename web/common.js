// flowlake's web UI: what every page shares -- DOM helpers, time and
// number formatting, IANA protocol names, the navigation bar, and api():
// the server's JSON APIs with the read key. When the server has a read
// key, every API call carries it as "Authorization: Bearer KEY"; on a 401
// the page asks for the key (one dialog, made here) and keeps it in
// sessionStorage, or localStorage when "remember" is ticked. docs/ui.md.

export const $ = (sel, el = document) => el.querySelector(sel);
export const $$ = (sel, el = document) => [...el.querySelectorAll(sel)];

// The time zone every label and input uses; each page sets it from its URL.
export const prefs = { tz: 'utc' };

// IANA protocol numbers (the registry's keywords) for the protocols seen
// in VPC traffic; any other number is shown as "protocol N".
const IANA = {
  0: 'HOPOPT', 1: 'ICMP', 2: 'IGMP', 4: 'IPv4', 6: 'TCP', 8: 'EGP',
  17: 'UDP', 41: 'IPv6', 43: 'IPv6-Route', 44: 'IPv6-Frag', 46: 'RSVP',
  47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'IPv6-ICMP', 59: 'IPv6-NoNxt',
  60: 'IPv6-Opts', 88: 'EIGRP', 89: 'OSPF', 94: 'IPIP', 103: 'PIM',
  112: 'VRRP', 115: 'L2TP', 132: 'SCTP', 136: 'UDPLite', 137: 'MPLS-in-IP',
};
export const protoName = (p) => (IANA[p] ? `${IANA[p]} (${p})` : `protocol ${p}`);

export function parseTime(s) {
  if (s == null || s === '') return null;
  if (/^\d{1,12}$/.test(s)) return Number(s);
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

export const isoZ = (t) => new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const fmtNum = (n) => (n == null ? '–' : Number(n).toLocaleString('en-US'));

export function fmtBytes(n) {
  if (n == null) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Number(n), i = 0;
  while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${u[i]}`;
}

export function fmtTime(t) {
  if (t == null) return '–';
  if (prefs.tz === 'utc') return isoZ(t).replace('T', ' ').replace('Z', ' UTC');
  return new Date(t * 1000).toLocaleString();
}

export function axisTime(t, withDate) {
  const d = new Date(t * 1000);
  const utc = prefs.tz === 'utc';
  const p = (n) => String(n).padStart(2, '0');
  const hm = `${p(utc ? d.getUTCHours() : d.getHours())}:${p(utc ? d.getUTCMinutes() : d.getMinutes())}`;
  if (!withDate) return hm;
  return `${p((utc ? d.getUTCMonth() : d.getMonth()) + 1)}-${p(utc ? d.getUTCDate() : d.getDate())} ${hm}`;
}

export function fmtDur(s) {
  if (s == null) return '–';
  s = Math.round(s);
  if (Math.abs(s) < 120) return `${s} s`;
  if (Math.abs(s) < 7200) return `${Math.round(s / 60)} min`;
  if (Math.abs(s) < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) e.append(k);
  return e;
}

// ---- the API, with the read key -------------------------------------------

const KEY_ITEM = 'flowlake.read_key';
let key = sessionStorage.getItem(KEY_ITEM) ?? localStorage.getItem(KEY_ITEM);
let keyPrompt = null;

// The key dialog, made on first need so that every page has the same one.
function keyDialog() {
  let dlg = $('#keydlg');
  if (dlg) return dlg;
  dlg = el('dialog', { id: 'keydlg' },
    el('form', { method: 'dialog', id: 'keyform' },
      el('h2', { text: 'Read key' }),
      el('p', { text: 'This server needs its read key (server.read_key).' }),
      el('p', { class: 'keyerr', id: 'keyerr', hidden: true, text: 'That key was refused.' }),
      // A user name for password managers, never shown.
      el('input', { type: 'text', autocomplete: 'username', value: 'flowlake', hidden: true }),
      el('input', { type: 'password', id: 'key', autocomplete: 'current-password',
                    required: true, ariaLabel: 'read key' }),
      el('label', {}, el('input', { type: 'checkbox', id: 'keyremember' }), ' remember on this device'),
      el('button', { type: 'submit', text: 'use key' })));
  // The page cannot work without the key: Escape does not close it.
  dlg.addEventListener('cancel', (ev) => ev.preventDefault());
  document.body.append(dlg);
  return dlg;
}

// One prompt however many requests were refused at once; they all retry
// when it is answered.
function askKey(refused) {
  if (keyPrompt) return keyPrompt;
  keyPrompt = new Promise((resolve) => {
    const dlg = keyDialog();
    $('#keyerr').hidden = !refused;
    $('#key').value = '';
    $('#keyform').onsubmit = (ev) => {
      ev.preventDefault();
      key = $('#key').value.trim();
      sessionStorage.removeItem(KEY_ITEM);
      localStorage.removeItem(KEY_ITEM);
      ($('#keyremember').checked ? localStorage : sessionStorage).setItem(KEY_ITEM, key);
      dlg.close();
      keyPrompt = null;
      resolve();
    };
    dlg.showModal();
  });
  return keyPrompt;
}

// fetch() with the read key: asks for the key on a 401 and waits out a
// 429; any other answer is the caller's (the SQL console reads the
// status, headers and error JSON of POST /api/query itself).
export async function authFetch(path, opts = {}) {
  let busy = 0;
  for (;;) {
    const headers = new Headers(opts.headers || {});
    if (key) headers.set('Authorization', `Bearer ${key}`);
    const r = await fetch(path, { ...opts, headers, cache: 'no-store' });
    if (r.status === 401) {
      await askKey(Boolean(key));
      continue;
    }
    // query.max_concurrent reached (another tab, another user): the server
    // says when to come back.
    if (r.status === 429 && busy++ < 5) {
      await new Promise((ok) => setTimeout(ok, 1000 * (Number(r.headers.get('Retry-After')) || 1)));
      continue;
    }
    return r;
  }
}

export async function api(path, opts = {}) {
  const r = await authFetch(path, opts);
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error || msg; } catch { /* not JSON */ }
    throw new Error(`${path.split('?')[0]}: ${r.status} ${msg}`);
  }
  return r.json();
}

// Each SQL statement costs the server a worker process, and it runs at
// most query.max_concurrent (default 2) at once: the page sends one at a
// time, and drops those of a refresh that a newer one replaced before they
// started, so quick clicks on the controls never meet a 429.
let sqlChain = Promise.resolve();
export function sql(text, wanted = () => true) {
  const run = sqlChain.then(() => {
    if (!wanted()) throw new Error('superseded');
    return api('/api/query?format=json', {
      method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: text,
    });
  });
  sqlChain = run.catch(() => {});
  return run;
}


// The pages of the UI, in the order of the navigation bar that each page's
// header gets (the current one marked).
export const PAGES = [
  { path: '/', title: 'Dashboard' },
  { path: '/console', title: 'SQL console' },
  { path: '/status', title: 'Status' },
];

export function navBar() {
  const nav = $('nav.pages');
  if (!nav) return;
  nav.textContent = '';
  for (const p of PAGES) {
    const a = el('a', { href: p.path, text: p.title });
    if (location.pathname === p.path) a.setAttribute('aria-current', 'page');
    nav.append(a);
  }
}
