// ui: the page frame (navigation bar, who is logged in), small DOM
// helpers and the formats every page shares.
import { getSession, logout, isAdmin } from './api.js';

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${u[i]}`;
}

export function ago(t) {
  if (!t) return 'never';
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t * 1000).toLocaleString();
}

export function when(t) {
  return t ? new Date(t * 1000).toLocaleString() : '–';
}

const stateClass = {
  online: 'success', offline: 'danger', unknown: 'secondary',
  running: 'success', paused: 'warning', stopped: 'secondary', generated: 'info',
  restarting: 'info', dead: 'danger',
};

export function badge(state) {
  const s = (state || 'unknown').toLowerCase();
  const label = s.charAt(0).toUpperCase() + s.slice(1);
  return el('span', { class: `badge text-bg-${stateClass[s] || 'secondary'}`, 'data-state': s }, label);
}

export function spinner(text = 'Loading…') {
  return el('div', { class: 'd-flex align-items-center gap-2 text-secondary py-3 loading' },
    el('div', { class: 'spinner-border spinner-border-sm', role: 'status' }), text);
}

// Show an error in `box` (replacing what was there) or as a toast.
export function showError(box, err) {
  const a = el('div', { class: 'alert alert-danger d-flex justify-content-between align-items-start', role: 'alert' },
    el('span', { class: 'error-text' }, err.message || String(err)),
    el('button', { type: 'button', class: 'btn-close', 'aria-label': 'Close', onclick: () => a.remove() }));
  if (box) box.replaceChildren(a);
  else toast(err.message || String(err), 'danger');
  return a;
}

export function toast(text, kind = 'success') {
  let area = $('#toasts');
  if (!area) {
    area = el('div', { id: 'toasts', class: 'toast-area' });
    document.body.append(area);
  }
  const t = el('div', { class: `alert alert-${kind} shadow-sm py-2 mb-2`, role: 'status' }, text);
  area.append(t);
  setTimeout(() => t.remove(), kind === 'danger' ? 8000 : 3000);
}

// Run an action from a button: disabled with a spinner meanwhile, the
// outcome as a toast.
export async function act(button, fn, done) {
  const old = button.innerHTML;
  button.disabled = true;
  button.prepend(el('span', { class: 'spinner-border spinner-border-sm me-1' }));
  try {
    await fn();
    if (done) toast(done);
  } catch (e) {
    toast(e.message, 'danger');
  } finally {
    button.disabled = false;
    button.innerHTML = old;
  }
}

export function viewerNote(btn) {
  if (!isAdmin()) {
    btn.disabled = true;
    btn.title = 'A viewer can change nothing';
    btn.classList.add('viewer-disabled');
  }
  return btn;
}

const pages = [
  ['/', 'Dashboard'],
  ['/deploy.html', 'Deployments'],
  ['/users.html', 'Users & tokens'],
  ['/audit.html', 'Audit'],
];

// The frame: navigation and the main area; returns the session.
export async function frame(active) {
  const s = await getSession();
  const nav = el('nav', { class: 'navbar navbar-expand-md navbar-dark bg-dark mb-3' },
    el('div', { class: 'container-fluid' },
      el('a', { class: 'navbar-brand fw-semibold', href: '/' }, 'reg-hub'),
      el('button', { class: 'navbar-toggler', type: 'button', 'data-bs-toggle': 'collapse',
        'data-bs-target': '#nav', 'aria-label': 'Menu' }, el('span', { class: 'navbar-toggler-icon' })),
      el('div', { class: 'collapse navbar-collapse', id: 'nav' },
        el('ul', { class: 'navbar-nav me-auto' },
          pages.map(([href, label]) => el('li', { class: 'nav-item' },
            el('a', { class: `nav-link${label === active ? ' active' : ''}`, href }, label)))),
        el('span', { class: 'navbar-text me-3', id: 'whoami' },
          `${s.Name} `, el('span', { class: 'badge text-bg-secondary' }, s.Role)),
        el('button', { class: 'btn btn-outline-light btn-sm', id: 'logout', onclick: logout }, 'Log out'))));
  document.body.prepend(nav);
  return s;
}

// Re-run `fn` every `ms` while the page is visible.
export function every(ms, fn) {
  let timer = null;
  const tick = async () => {
    try {
      await fn();
    } finally {
      timer = setTimeout(tick, ms);
    }
  };
  tick();
  return () => clearTimeout(timer);
}
