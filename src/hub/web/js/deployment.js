// A deployment: its state and every step's time, the hub's (make, push)
// and each device's (pull, create, start, healthy), followed until done.
import { api } from './api.js';
import { $, el, frame, showError, spinner, when, bytes } from './ui.js';
import { deployBadge, secs, done } from './deploysteps.js';

const main = $('#main');
const id = new URLSearchParams(location.search).get('id');

function stat(label, value, extra) {
  return el('div', { class: 'col-6 col-md-3' },
    el('div', { class: 'small text-secondary' }, label), el('div', { class: 'stat-value', 'data-stat': label }, value),
    extra ? el('div', { class: 'small text-secondary' }, extra) : null);
}

function deviceRows(d, x) {
  const row = el('tr', { 'data-device': x.DeviceName },
    el('td', {}, el('a', { href: `/device.html?id=${x.Device}` }, x.DeviceName)),
    el('td', {}, deployBadge(x.State)),
    el('td', {}, x.Mode || '–'),
    el('td', {}, secs(x.PullSeconds)),
    el('td', { class: 'moved' }, x.PullSeconds !== null ? bytes(x.PullBytes) : '–'),
    el('td', {}, secs(x.CreateSeconds)),
    el('td', {}, secs(x.StartSeconds)),
    el('td', {}, secs(x.HealthySeconds)),
    el('td', { class: 'redeploys' }, d.Spec.Redeploy ? `${x.Redeploys} of ${d.Spec.Redeploy.Attempts}` : '–'));
  const why = x.Error ? el('tr', {}, el('td', { colspan: 9, class: 'small text-danger border-0 pt-0' }, x.Error)) : null;
  return [row, why];
}

// What the devices not on this version run: a rolled-back or skipped
// device still serves the previous version (a failed update is not an outage).
function previous(d) {
  const back = d.Devices.filter((x) => x.State === 'rolled back').length;
  const skipped = d.Devices.filter((x) => x.State === 'skipped').length;
  const parts = [back ? `${back} rolled back` : null, skipped ? `${skipped} skipped` : null].filter((x) => x);
  return parts.length ? `${parts.join(', ')}: on the previous version` : `${d.Spec.Parallel} at a time`;
}

function render(d) {
  const healthy = d.Devices.filter((x) => x.State === 'healthy').length;
  const head = el('div', { class: 'd-flex flex-wrap align-items-center gap-2 mb-3' },
    el('h1', { class: 'h3 mb-0 mono' }, d.Template), el('span', { id: 'dep-state' }, deployBadge(d.State)),
    done(d) ? null : el('div', { class: 'spinner-border spinner-border-sm text-secondary' }));
  const stats = el('div', { class: 'card mb-3' }, el('div', { class: 'card-body row g-3' },
    stat('Make template', secs(d.MakeSeconds), d.Files ? `${d.Files} files, ${bytes(d.AppBytes)}` : null),
    stat('Push', secs(d.PushSeconds), d.PushSeconds !== null ? `${bytes(d.PushBytes)} uploaded` : null),
    stat('Healthy on this version', `${healthy}/${d.Devices.length}`, previous(d)),
    stat('Took', d.Finished ? `${d.Finished - d.Created} s` : '…', `started ${when(d.Created)} by ${d.User}`)));
  const table = el('table', { class: 'table table-sm mb-0', id: 'dep-devices' },
    el('thead', {}, el('tr', {}, ['Device', 'State', 'Mode', 'Pull', 'Moved', 'Create', 'Start', 'Healthy', 'Redeploys']
      .map((t) => el('th', {}, t)))),
    el('tbody', {}, d.Devices.map((x) => deviceRows(d, x)).flat()));
  const devices = el('div', { class: 'card' }, el('div', { class: 'card-header' }, 'Devices'),
    el('div', { class: 'card-body p-0' }, el('div', { class: 'table-responsive' }, table)));
  const error = d.Error ? el('div', { class: 'alert alert-danger', id: 'dep-error' }, d.Error) : null;
  $('#dep-detail').replaceChildren(...[head, error, stats, devices].filter((x) => x));
}

async function start() {
  await frame('Deployments');
  main.append(el('div', { class: 'mb-2' }, el('a', { href: '/deploy.html' }, '← Deployments')),
    el('div', { id: 'dep-detail' }, spinner()));
  for (;;) {
    const d = await api('GET', `/deployments/${encodeURIComponent(id)}`);
    render(d);
    if (done(d)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

start().catch((e) => showError(main, e));
