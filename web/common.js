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

// Two roles, two keys: the read key for every API call, the admin key
// (server.admin_key) for saving and removing dashboards. Without an admin
// key the server takes the read key there too, so the admin role starts
// with the read key and asks for its own only when that is refused.
const KEY_ITEMS = { read: 'flowlake.read_key', admin: 'flowlake.admin_key' };
const keys = {};
for (const [role, item] of Object.entries(KEY_ITEMS)) {
  keys[role] = sessionStorage.getItem(item) ?? localStorage.getItem(item);
}
const ROLE_TEXT = {
  read: ['Read key', 'This server needs its read key (server.read_key).'],
  admin: ['Admin key', 'Changing a dashboard needs the admin key (server.admin_key; ' +
    'the read key when the server has no admin key).'],
};
const keyPrompt = {};

// The key dialog, made on first need so that every page has the same one.
function keyDialog() {
  let dlg = $('#keydlg');
  if (dlg) return dlg;
  dlg = el('dialog', { id: 'keydlg' },
    el('form', { method: 'dialog', id: 'keyform' },
      el('h2', { id: 'keytitle', text: 'Read key' }),
      el('p', { id: 'keywhy', text: ROLE_TEXT.read[1] }),
      el('p', { class: 'keyerr', id: 'keyerr', hidden: true, text: 'That key was refused.' }),
      // A user name for password managers, never shown.
      el('input', { type: 'text', autocomplete: 'username', value: 'flowlake', hidden: true }),
      el('input', { type: 'password', id: 'key', autocomplete: 'current-password',
                    required: true, ariaLabel: 'read key' }),
      el('label', {}, el('input', { type: 'checkbox', id: 'keyremember' }), ' remember on this device'),
      el('div', { class: 'keybuttons' },
        el('button', { type: 'button', id: 'keycancel', text: 'cancel', hidden: true }),
        el('button', { type: 'submit', text: 'use key' }))));
  // The page cannot work without the read key: Escape does not close it
  // (the admin key's dialog has its own cancel button).
  dlg.addEventListener('cancel', (ev) => ev.preventDefault());
  document.body.append(dlg);
  return dlg;
}

// One prompt per role however many requests were refused at once; they all
// retry when it is answered. The admin prompt can be cancelled: the
// request then fails with the 401 message.
function askKey(refused, role = 'read') {
  if (keyPrompt[role]) return keyPrompt[role];
  keyPrompt[role] = new Promise((resolve) => {
    const dlg = keyDialog();
    $('#keytitle').textContent = ROLE_TEXT[role][0];
    $('#keywhy').textContent = ROLE_TEXT[role][1];
    $('#key').ariaLabel = ROLE_TEXT[role][0].toLowerCase();
    $('#keyerr').hidden = !refused;
    $('#key').value = '';
    $('#keycancel').hidden = role === 'read';
    $('#keycancel').onclick = () => { dlg.close(); keyPrompt[role] = null; resolve(false); };
    $('#keyform').onsubmit = (ev) => {
      ev.preventDefault();
      keys[role] = $('#key').value.trim();
      sessionStorage.removeItem(KEY_ITEMS[role]);
      localStorage.removeItem(KEY_ITEMS[role]);
      ($('#keyremember').checked ? localStorage : sessionStorage).setItem(KEY_ITEMS[role], keys[role]);
      dlg.close();
      keyPrompt[role] = null;
      resolve(true);
    };
    dlg.showModal();
  });
  return keyPrompt[role];
}

// fetch() with the read key (opts.role 'admin': the admin key, else the
// read key): asks for the key on a 401 and waits out a 429; any other
// answer is the caller's (the SQL console reads the status, headers and
// error JSON of POST /api/query itself).
export async function authFetch(path, opts = {}) {
  let busy = 0;
  const { role = 'read', ...rest } = opts;
  for (;;) {
    const headers = new Headers(rest.headers || {});
    const k = role === 'admin' ? keys.admin ?? keys.read : keys.read;
    if (k) headers.set('Authorization', `Bearer ${k}`);
    const r = await fetch(path, { ...rest, headers, cache: 'no-store' });
    if (r.status === 401) {
      if (!await askKey(role === 'admin' ? keys.admin != null : Boolean(keys.read), role)) return r;
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
