// Device page: what the device is, how busy it is (history charts of the
// whole device), its containers (with their controls and a run form), its
// templates and what was done to it.
import { api, isAdmin } from './api.js';
import { lineChart, setPoints } from './charts.js';
import { $, act, ago, badge, bytes, el, every, frame, showError, spinner, viewerNote, when } from './ui.js';

const main = $('#main');
const id = new URLSearchParams(location.search).get('id');
let device = null;
const charts = {};

function infoCard(d) {
  const i = d.Info || {};
  const item = (k, v) => el('div', { class: 'col-6 col-md-4 col-xl-3 mb-2' },
    el('div', { class: 'small text-secondary' }, k), el('div', { class: 'fw-semibold', dataset: { info: k } }, v ?? '–'));
  return el('div', { class: 'row', id: 'info' },
    item('Architecture', i.Arch), item('OS', i.OS), item('Kernel', i.Kernel), item('CPUs', i.CPUs),
    item('Memory', i.MemTotal ? bytes(i.MemTotal) : null), item('Disk', i.DiskTotal ? bytes(i.DiskTotal) : null),
    item('regd', i.Version), item('Address', d.Url), item('Owner', d.Owner), item('Last seen', ago(d.LastSeen)));
}

function header(d) {
  return el('div', { class: 'd-flex flex-wrap align-items-center gap-2 mb-3', id: 'device-header' },
    el('a', { href: '/', class: 'text-decoration-none' }, 'Devices'), el('span', { class: 'text-secondary' }, '/'),
    el('h1', { class: 'h3 mb-0 me-2' }, d.Name), badge(d.State),
    d.State === 'offline' && d.Error ? el('span', { class: 'small text-danger' }, d.Error) : null);
}

const actionsFor = {
  running: ['stop', 'restart', 'pause'],
  paused: ['unpause', 'stop'],
  stopped: ['start', 'remove'],
  generated: ['start', 'remove'],
  dead: ['remove'],
};

function containerRow(c) {
  const status = c.State ? c.State.Status : 'unknown';
  const name = c.Name || c.Id.slice(0, 12);
  const ref = encodeURIComponent(c.Name || c.Id); // names read better in the audit log
  const buttons = (actionsFor[status] || []).map((a) => viewerNote(el('button', {
    class: `btn btn-outline-${a === 'remove' || a === 'stop' ? 'danger' : 'secondary'}`,
    dataset: { action: a },
    onclick: (e) => act(e.currentTarget, async () => {
      if (a === 'remove') await api('DELETE', `/devices/${id}/containers/${ref}`);
      else await api('POST', `/devices/${id}/containers/${ref}/${a}${a === 'stop' || a === 'restart' ? '?t=3' : ''}`);
      await loadContainers();
    }, `${name}: ${a} done`),
  }, a)));
  return el('tr', { dataset: { container: name, state: status } },
    el('td', {}, el('a', { href: `/container.html?device=${id}&id=${ref}`, class: 'fw-semibold' }, name),
      el('div', { class: 'small text-secondary mono' }, c.Id.slice(0, 12))),
    el('td', {}, badge(status), status === 'stopped' && c.State ? el('span', { class: 'small text-secondary ms-1' }, `exit ${c.State.ExitCode}`) : null),
    el('td', { class: 'small d-none d-md-table-cell' }, (c.Templates || []).join(', ')),
    el('td', { class: 'small mono d-none d-lg-table-cell text-truncate', style: 'max-width: 18rem' }, (c.Cmd || []).join(' ')),
    el('td', { class: 'text-end' }, el('div', { class: 'btn-group btn-group-sm' }, buttons)));
}

let shownContainers = '';
async function loadContainers() {
  const list = await api('GET', `/devices/${id}/containers`);
  const box = $('#containers');
  $('#containers-error').replaceChildren();
  const key = JSON.stringify(list.map((c) => [c.Id, c.Name, c.State && c.State.Status, c.State && c.State.ExitCode]));
  if (key === shownContainers) return; // nothing changed: keep the rows (and focus)
  shownContainers = key;
  box.replaceChildren(list.length === 0
    ? el('div', { class: 'text-secondary p-3', id: 'no-containers' }, 'No containers.')
    : el('div', { class: 'table-responsive' }, el('table', { class: 'table table-hover mb-0', id: 'container-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Container'), el('th', {}, 'State'),
        el('th', { class: 'd-none d-md-table-cell' }, 'Templates'), el('th', { class: 'd-none d-lg-table-cell' }, 'Command'), el('th', {}))),
      el('tbody', {}, list.map(containerRow)))));
  $('#containers-error').replaceChildren();
}

let shownTemplates = '';
async function loadTemplates() {
  const list = await api('GET', `/devices/${id}/templates`);
  const key = JSON.stringify(list.map((t) => t.Ref));
  if (key === shownTemplates) return;
  shownTemplates = key;
  const select = $('#run-template');
  if (select && select.options.length !== list.length)
    select.replaceChildren(...list.map((t) => el('option', { value: t.Ref }, t.Ref)));
  $('#templates').replaceChildren(list.length === 0
    ? el('div', { class: 'text-secondary p-3' }, 'No templates.')
    : el('div', { class: 'table-responsive' }, el('table', { class: 'table mb-0', id: 'template-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Template'), el('th', { class: 'd-none d-md-table-cell' }, 'Files'), el('th', { class: 'd-none d-md-table-cell' }, 'Digest'), el('th', {}))),
      el('tbody', {}, list.map((t) => el('tr', { dataset: { template: t.Ref } },
        el('td', { class: 'fw-semibold' }, t.Ref),
        el('td', { class: 'small d-none d-md-table-cell' }, `${t.Files} files, ${t.Libs} libs`),
        el('td', { class: 'small mono d-none d-md-table-cell' }, (t.Digest || '').slice(0, 16)),
        el('td', { class: 'text-end' }, viewerNote(el('button', {
          class: 'btn btn-sm btn-outline-danger',
          onclick: (e) => {
            if (!confirm(`Remove template ${t.Ref} from ${device.Name}?`)) return;
            act(e.currentTarget, async () => {
              await api('DELETE', `/devices/${id}/templates/${encodeURIComponent(t.Ref)}`);
              await loadTemplates();
            }, `${t.Ref} removed`);
          },
        }, 'Remove')))))))));
}

function runForm() {
  const form = el('form', { class: 'row g-2 align-items-end', id: 'run-form' },
    el('div', { class: 'col-md-3' }, el('label', { class: 'form-label small', for: 'run-template' }, 'Template'),
      el('select', { class: 'form-select form-select-sm', id: 'run-template' })),
    el('div', { class: 'col-md-2' }, el('label', { class: 'form-label small', for: 'run-name' }, 'Name'),
      el('input', { class: 'form-control form-control-sm', id: 'run-name', placeholder: 'optional' })),
    el('div', { class: 'col-md-5' }, el('label', { class: 'form-label small', for: 'run-cmd' }, 'Command'),
      el('input', { class: 'form-control form-control-sm mono', id: 'run-cmd', placeholder: "the template's entrypoint when empty" })),
    el('div', { class: 'col-md-2' }, viewerNote(el('button', { class: 'btn btn-primary btn-sm w-100', type: 'submit', id: 'run-button' }, 'Run'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const cmd = $('#run-cmd').value.trim();
    const body = { Templates: [$('#run-template').value] };
    if (cmd) body.Cmd = ['/bin/sh', '-c', cmd];
    if ($('#run-name').value.trim()) body.Name = $('#run-name').value.trim();
    act($('#run-button'), async () => {
      await api('POST', `/devices/${id}/containers`, body);
      $('#run-name').value = '';
      await loadContainers();
    }, 'Container started');
  });
  return form;
}

async function loadHistory() {
  const since = $('#range').value;
  const s = await api('GET', `/devices/${id}/history?since=${since}`);
  setPoints(charts.cpu, s, (x) => x.Cpu);
  setPoints(charts.mem, s, (x) => (x.MemTotal ? (100 * x.MemUsed) / x.MemTotal : 0));
  setPoints(charts.disk, s, (x) => (x.DiskTotal ? (100 * x.DiskUsed) / x.DiskTotal : 0));
  const last = s[s.length - 1];
  $('#now-cpu').textContent = last ? `${last.Cpu.toFixed(1)} %` : '–';
  $('#now-mem').textContent = last ? `${bytes(last.MemUsed)} / ${bytes(last.MemTotal)}` : '–';
  $('#now-disk').textContent = last ? `${bytes(last.DiskUsed)} / ${bytes(last.DiskTotal)}` : '–';
  $('#history-note').textContent = s.length ? `${s.length} samples` : 'No samples yet: the hub samples Online devices periodically.';
}

async function loadAudit() {
  const a = await api('GET', `/audit?device=${id}&limit=15`);
  $('#audit').replaceChildren(a.length === 0 ? el('div', { class: 'text-secondary p-3' }, 'Nothing yet.')
    : el('ul', { class: 'list-group list-group-flush small' }, a.map((x) => el('li', { class: 'list-group-item' },
      el('span', { class: 'text-secondary me-2' }, when(x.T)), el('b', {}, x.User), ` ${x.Action} `, el('span', { class: 'mono' }, x.Target || ''),
      x.Result === 'ok' ? el('span', { class: 'text-success ms-2' }, 'ok') : el('span', { class: 'text-danger ms-2' }, x.Result)))));
}

function chartCard(key, title, color) {
  return el('div', { class: 'col-lg-4' }, el('div', { class: 'card h-100' },
    el('div', { class: 'card-header d-flex justify-content-between' }, title, el('span', { class: 'fw-normal text-secondary', id: `now-${key}` }, '–')),
    el('div', { class: 'card-body' }, el('div', { class: 'chart-box' }, el('canvas', { id: `chart-${key}` })))));
}

function card(title, bodyId, extra) {
  return el('div', { class: 'card mb-3' }, el('div', { class: 'card-header d-flex justify-content-between align-items-center' }, title, extra || null),
    el('div', { id: `${bodyId}-error` }), el('div', { class: 'card-body p-0', id: bodyId }, spinner()));
}

async function refreshDevice() {
  device = await api('GET', `/devices/${id}`);
  $('#device-header').replaceWith(header(device));
  $('#info').replaceWith(infoCard(device));
}

async function start() {
  await frame('Dashboard');
  main.append(el('div', { id: 'device-header' }, spinner('Loading the device…')));
  try {
    device = await api('GET', `/devices/${id}`);
  } catch (e) {
    $('#device-header').replaceWith(el('div', { id: 'device-header' }));
    showError(main, e);
    return;
  }
  document.title = `${device.Name} · reg-hub`;
  const range = el('select', { class: 'form-select form-select-sm w-auto', id: 'range', onchange: () => loadHistory() },
    el('option', { value: 900 }, 'last 15 min'), el('option', { value: 3600 }, 'last hour'),
    el('option', { value: 86400 }, 'last day'), el('option', { value: 604800 }, 'last week'));
  main.append(
    el('div', { class: 'card mb-3' }, el('div', { class: 'card-header' }, 'Device'), el('div', { class: 'card-body pb-1' }, el('div', { id: 'info' }))),
    el('div', { class: 'd-flex justify-content-between align-items-center mb-2' },
      el('h2', { class: 'h5 mb-0' }, 'Utilisation of the whole device'), range),
    el('div', { class: 'row g-3 mb-1' }, chartCard('cpu', 'CPU %', '#0d6efd'), chartCard('mem', 'Memory %', '#6f42c1'), chartCard('disk', 'Disk %', '#fd7e14')),
    el('div', { class: 'small text-secondary mb-3', id: 'history-note' }),
    card('Containers', 'containers'),
    card('Templates', 'templates'),
    card('Recent activity', 'audit'));
  $('#containers').parentElement.insertBefore(el('div', { class: 'card-body border-bottom' }, runForm()), $('#containers'));
  await refreshDevice();
  charts.cpu = lineChart($('#chart-cpu'), 'CPU %', '#0d6efd', 100);
  charts.mem = lineChart($('#chart-mem'), 'Memory %', '#6f42c1', 100);
  charts.disk = lineChart($('#chart-disk'), 'Disk %', '#fd7e14', 100);
  const guard = (box, fn) => () => fn().catch((e) => showError($(`#${box}-error`), e));
  every(3000, guard('containers', loadContainers));
  every(10000, guard('templates', loadTemplates));
  every(5000, guard('containers', loadHistory));
  every(5000, guard('audit', loadAudit));
  every(3000, () => refreshDevice().catch(() => {}));
  if (!isAdmin()) $('#run-form').classList.add('opacity-75');
}

start().catch((e) => showError(main, e));
