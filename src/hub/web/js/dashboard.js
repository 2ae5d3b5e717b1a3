// Dashboard: every device the user may see, its state and last-seen time,
// refreshed every 2 s; admins add, edit and remove devices here.
import { api, isAdmin } from './api.js';
import { $, act, ago, badge, bytes, el, every, frame, showError, spinner, toast, viewerNote } from './ui.js';

const main = $('#main');
let editing = null; // the device being edited, or null when adding

function summary(devices) {
  const count = (s) => devices.filter((d) => d.State === s).length;
  const card = (label, n, kind, id) => el('div', { class: 'col-6 col-md-3' },
    el('div', { class: 'card h-100' }, el('div', { class: 'card-body py-2' },
      el('div', { class: 'text-secondary small' }, label),
      el('div', { class: `stat-value text-${kind}`, id }, n))));
  return el('div', { class: 'row g-3 mb-3', id: 'summary' },
    card('Devices', devices.length, 'body', 'count-all'),
    card('Online', count('online'), 'success', 'count-online'),
    card('Offline', count('offline'), 'danger', 'count-offline'),
    card('Unknown', count('unknown'), 'secondary', 'count-unknown'));
}

function row(d) {
  const info = d.Info || {};
  const actions = el('div', { class: 'btn-group btn-group-sm device-actions' },
    viewerNote(el('button', { class: 'btn btn-outline-secondary', onclick: () => openForm(d) }, 'Edit')),
    viewerNote(el('button', {
      class: 'btn btn-outline-danger',
      onclick: (e) => {
        if (!confirm(`Remove device ${d.Name} from the hub? (Nothing on the device changes.)`)) return;
        act(e.currentTarget, async () => {
          await api('DELETE', `/devices/${d.Id}`);
          await refresh();
        }, `Device ${d.Name} removed`);
      },
    }, 'Remove')));
  return el('tr', { dataset: { device: d.Name } },
    el('td', {}, el('a', { href: `/device.html?id=${d.Id}`, class: 'fw-semibold text-nowrap' }, d.Name),
      el('div', { class: 'small text-secondary mono d-none d-sm-block d-md-none' }, d.Url)),
    el('td', { class: 'state' }, badge(d.State),
      d.State === 'offline' && d.Error ? el('div', { class: 'small text-danger' }, d.Error) : null),
    el('td', { class: 'small text-nowrap', title: d.LastSeen ? new Date(d.LastSeen * 1000).toLocaleString() : '' }, ago(d.LastSeen)),
    el('td', { class: 'mono hide-sm d-none d-md-table-cell' }, d.Url),
    el('td', { class: 'small hide-sm d-none d-lg-table-cell' }, info.Arch ? `${info.OS} · ${info.Arch}` : '–'),
    el('td', { class: 'small hide-sm d-none d-lg-table-cell' },
      info.CPUs ? `${info.CPUs} CPUs · ${bytes(info.MemTotal)}` : '–'),
    el('td', { class: 'small hide-sm d-none d-xl-table-cell' }, info.Version || '–'),
    el('td', { class: 'small hide-sm d-none d-md-table-cell' }, d.Owner),
    el('td', { class: 'text-end' }, actions));
}

function table(devices) {
  if (devices.length === 0)
    return el('div', { class: 'text-center text-secondary py-5', id: 'empty' },
      isAdmin() ? 'No devices yet: add one with “Add device”.' : 'No devices are yours yet.');
  return el('div', { class: 'table-responsive' },
    el('table', { class: 'table table-hover mb-0', id: 'devices' },
      el('thead', {}, el('tr', {},
        el('th', {}, 'Device'), el('th', {}, 'State'), el('th', {}, 'Last seen'),
        el('th', { class: 'd-none d-md-table-cell' }, 'Address'),
        el('th', { class: 'd-none d-lg-table-cell' }, 'System'),
        el('th', { class: 'd-none d-lg-table-cell' }, 'Size'),
        el('th', { class: 'd-none d-xl-table-cell' }, 'regd'),
        el('th', { class: 'd-none d-md-table-cell' }, 'Owner'), el('th', {}))),
      el('tbody', {}, devices.map(row))));
}

let shown = '';
async function refresh() {
  const devices = await api('GET', '/devices');
  $('#list-error').replaceChildren();
  // Re-render only what changed (relative times tick every 2 s anyway).
  const key = JSON.stringify(devices.map((d) => [d.Id, d.Name, d.State, d.Error, d.Owner, d.Url, d.Info && d.Info.Version, Math.floor((Date.now() / 1000 - (d.LastSeen || 0)) / 10)]));
  if (key === shown) return;
  shown = key;
  $('#summary').replaceWith(summary(devices));
  $('#device-list').replaceChildren(table(devices));
  $('#list-error').replaceChildren();
}

function field(id, label, input, help) {
  return el('div', { class: 'mb-3' }, el('label', { class: 'form-label', for: id }, label), input,
    help ? el('div', { class: 'form-text' }, help) : null);
}

async function openForm(device) {
  editing = device;
  const box = $('#device-form');
  const users = isAdmin() ? await api('GET', '/users').catch(() => []) : [];
  const form = el('form', { id: 'add-device', novalidate: true },
    el('div', { class: 'row g-3' },
      el('div', { class: 'col-md-4' }, field('dev-name', 'Name',
        el('input', { class: 'form-control', id: 'dev-name', name: 'Name', required: true, value: device ? device.Name : '' }))),
      el('div', { class: 'col-md-5' }, field('dev-url', 'regd address',
        el('input', { class: 'form-control mono', id: 'dev-url', name: 'Url', placeholder: 'tcp://192.0.2.10:7443', value: device ? device.Url : '' }),
        'regd --tls-listen ADDR:PORT')),
      el('div', { class: 'col-md-3' }, field('dev-owner', 'Owner',
        el('select', { class: 'form-select', id: 'dev-owner', name: 'Owner' },
          users.map((u) => el('option', { value: u.Name, selected: device ? u.Name === device.Owner : u.Name === $('#whoami').firstChild.textContent.trim() }, `${u.Name} (${u.Role})`)))))),
    field('dev-ca', 'CA certificate (PEM)',
      el('textarea', { class: 'form-control mono', id: 'dev-ca', name: 'Ca', rows: 4, placeholder: device ? '(unchanged)' : '-----BEGIN CERTIFICATE-----' }),
      'The certificate that signed regd’s --tls-cert (for a self-signed one, that certificate).'),
    field('dev-token', 'Token', el('input', { class: 'form-control mono', id: 'dev-token', name: 'Token', type: 'password', autocomplete: 'off', placeholder: device ? '(unchanged)' : '' }),
      'The contents of regd’s --token-file.'),
    el('div', { id: 'form-error' }),
    el('div', { class: 'd-flex gap-2' },
      el('button', { class: 'btn btn-primary', type: 'submit', id: 'dev-save' }, device ? 'Save' : 'Add device'),
      el('button', { class: 'btn btn-outline-secondary', type: 'button', onclick: () => box.replaceChildren() }, 'Cancel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const k of ['Name', 'Url', 'Ca', 'Token', 'Owner']) {
      const v = form.elements[k].value;
      if (!editing || (v !== '' && v !== (editing[k] ?? ''))) body[k] = k === 'Token' || k === 'Ca' ? v : v.trim();
    }
    const button = $('#dev-save');
    button.disabled = true;
    $('#form-error').replaceChildren(spinner(editing ? 'Saving…' : 'Checking the device…'));
    try {
      const d = editing ? await api('PATCH', `/devices/${editing.Id}`, body) : await api('POST', '/devices', body);
      box.replaceChildren();
      toast(`Device ${d.Name} ${editing ? 'saved' : 'added'}`);
      await refresh();
    } catch (err) {
      showError($('#form-error'), err);
    } finally {
      button.disabled = false;
    }
  });
  box.replaceChildren(el('div', { class: 'card mb-3' },
    el('div', { class: 'card-header' }, device ? `Edit ${device.Name}` : 'Add a device'),
    el('div', { class: 'card-body' }, form)));
  $('#dev-name').focus();
}

async function start() {
  await frame('Dashboard');
  main.append(
    el('div', { class: 'd-flex align-items-center justify-content-between mb-3' },
      el('h1', { class: 'h3 mb-0' }, 'Devices'),
      viewerNote(el('button', { class: 'btn btn-primary', id: 'add-device-button', onclick: () => openForm(null) }, 'Add device'))),
    summary([]),
    el('div', { id: 'device-form' }),
    el('div', { id: 'list-error' }),
    el('div', { class: 'card' }, el('div', { class: 'card-body p-0', id: 'device-list' }, spinner('Loading devices…'))));
  every(2000, () => refresh().catch((e) => showError($('#list-error'), e)));
}

start().catch((e) => showError(main, e));
