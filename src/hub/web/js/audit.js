// Audit: who did what, when, and how it went (newest first).
import { api } from './api.js';
import { $, el, every, frame, showError, spinner, when } from './ui.js';

const main = $('#main');

async function load() {
  const device = $('#audit-device').value;
  const rows = await api('GET', `/audit?limit=500${device ? `&device=${device}` : ''}`);
  $('#audit').replaceChildren(rows.length === 0 ? el('div', { class: 'text-secondary p-3' }, 'Nothing recorded.')
    : el('div', { class: 'table-responsive' }, el('table', { class: 'table table-sm mb-0', id: 'audit-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'When'), el('th', {}, 'User'), el('th', {}, 'Action'),
        el('th', { class: 'd-none d-md-table-cell' }, 'Device'), el('th', {}, 'Target'), el('th', {}, 'Result'))),
      el('tbody', {}, rows.map((a) => el('tr', {},
        el('td', { class: 'small text-nowrap' }, when(a.T)), el('td', {}, a.User), el('td', {}, a.Action),
        el('td', { class: 'd-none d-md-table-cell' }, a.DeviceName || '–'), el('td', { class: 'mono small' }, a.Target || ''),
        el('td', { class: a.Result === 'ok' ? 'text-success' : 'text-danger small' }, a.Result)))))));
  $('#audit-error').replaceChildren();
}

async function start() {
  await frame('Audit');
  const devices = await api('GET', '/devices');
  main.append(el('div', { class: 'd-flex flex-wrap justify-content-between align-items-center mb-3 gap-2' },
    el('h1', { class: 'h3 mb-0' }, 'Audit log'),
    el('select', { class: 'form-select form-select-sm w-auto', id: 'audit-device', onchange: () => load() },
      el('option', { value: '' }, 'All devices and the hub'), devices.map((d) => el('option', { value: d.Id }, d.Name)))),
    el('div', { id: 'audit-error' }),
    el('div', { class: 'card' }, el('div', { class: 'card-body p-0', id: 'audit' }, spinner())));
  every(5000, () => load().catch((e) => showError($('#audit-error'), e)));
}

start().catch((e) => showError(main, e));
