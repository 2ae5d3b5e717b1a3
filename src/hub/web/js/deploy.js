// Deployments: the deploy form (an app, its config, its targets) and the
// list of deployments, newest first. The form posts what a CI job posts
// (multipart: the file and the config as JSON; docs/hub-api.md).
import { api, getSession, isAdmin, ApiError } from './api.js';
import { $, el, every, frame, showError, spinner, toast, when, bytes } from './ui.js';
import { deployBadge, secs } from './deploysteps.js';

const main = $('#main');

function field(label, input, help) {
  return el('div', { class: 'col-12 col-md-6 col-xl-4' },
    el('label', { class: 'form-label small fw-semibold', for: input.id }, label), input,
    help ? el('div', { class: 'form-text' }, help) : null);
}

const input = (id, attrs = {}) => el('input', { class: 'form-control form-control-sm', id, name: id, ...attrs });
const select = (id, options) => el('select', { class: 'form-select form-select-sm', id, name: id },
  options.map(([v, label]) => el('option', { value: v }, label)));
const lines = (s) => s.split('\n').map((x) => x.trim()).filter((x) => x);
const list = (s) => s.split(',').map((x) => x.trim()).filter((x) => x);

// The config from the form; throws with what is missing.
function config(devices) {
  const c = {};
  const v = (id) => $(`#${id}`).value.trim();
  const targets = [...document.querySelectorAll('.dep-device:checked')].map((b) => b.value);
  if (v('dep-group')) c.Group = v('dep-group');
  else if (targets.length) c.Devices = targets;
  else throw new Error('choose the devices (or a group) to deploy to');
  if (!v('dep-cmd')) throw new Error('the command is required');
  // One argument per line keeps arguments with spaces whole.
  c.Cmd = lines($('#dep-cmd').value);
  if (v('dep-bases')) c.Bases = list(v('dep-bases'));
  if (v('dep-version')) c.Version = v('dep-version');
  if (v('dep-env')) c.Env = lines($('#dep-env').value);
  if (v('dep-ports')) c.Ports = list(v('dep-ports'));
  if (v('dep-network') !== 'bridge') c.Network = v('dep-network');
  if (v('dep-restart') !== 'no') c.Restart = v('dep-restart');
  if (v('dep-memory')) c.Memory = v('dep-memory');
  if (v('dep-cpus')) c.Cpus = Number(v('dep-cpus'));
  if (v('dep-name')) c.Name = v('dep-name');
  c.Parallel = Number(v('dep-parallel') || 1);
  const kind = v('dep-health');
  if (kind !== 'none') {
    const h = kind === 'http'
      ? { Http: v('dep-hpath') || '/', Port: Number(v('dep-hport')) }
      : { Cmd: v('dep-hcmd') };
    if (kind === 'http' && v('dep-hstatus')) h.Status = Number(v('dep-hstatus'));
    h.Interval = v('dep-hinterval') || '2s';
    h.Timeout = v('dep-htimeout') || '2s';
    h.Retries = Number(v('dep-hretries') || 3);
    c.Health = h;
    if (v('dep-rafter')) c.Redeploy = { After: v('dep-rafter'), Attempts: Number(v('dep-rattempts') || 3) };
  }
  return c;
}

async function submit(ev, devices) {
  ev.preventDefault();
  const box = $('#dep-form-error');
  box.replaceChildren();
  const button = $('#dep-submit');
  try {
    const app = $('#dep-app').value.trim();
    const file = $('#dep-file').files[0];
    if (!app) throw new Error('the app needs a name');
    if (!file) throw new Error('choose the app to upload (.tar.gz, .zip or a single file)');
    const form = new FormData();
    form.append('file', file, file.name);
    form.append('config', JSON.stringify(config(devices)));
    button.disabled = true;
    const s = await getSession();
    const r = await fetch(`/api/v1/apps/${encodeURIComponent(app)}/deployments`, {
      method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': s.Csrf }, body: form,
    });
    const data = await r.json().catch(() => null);
    if (!r.ok) throw new ApiError(r.status, (data && data.message) || `HTTP ${r.status}`);
    toast(`Deploying ${data.Template}`);
    location.href = `/deployment.html?id=${data.Id}`;
  } catch (e) {
    showError(box, e);
  } finally {
    button.disabled = false;
  }
}

function form(devices, templates) {
  const healthFields = el('div', { class: 'row g-2', id: 'dep-health-fields' });
  const showHealth = () => {
    const kind = $('#dep-health').value;
    healthFields.replaceChildren(...(kind === 'none' ? [] : [
      ...(kind === 'http'
        ? [field('Path', input('dep-hpath', { value: '/healthz' })), field('Port', input('dep-hport', { type: 'number', value: 8000 })),
          field('Status', input('dep-hstatus', { type: 'number', placeholder: 'any 2xx/3xx' }))]
        : [field('Command', input('dep-hcmd', { placeholder: 'test -e /tmp/ready' }))]),
      field('Interval', input('dep-hinterval', { value: '2s' })), field('Timeout', input('dep-htimeout', { value: '2s' })),
      field('Retries', input('dep-hretries', { type: 'number', value: 3, min: 1 })),
      field('Redeploy after', input('dep-rafter', { placeholder: 'never' }), 'Unhealthy this long (30s): the hub recreates it'),
      field('Redeploys at most', input('dep-rattempts', { type: 'number', value: 3, min: 1, max: 10 }))]));
  };
  const health = select('dep-health', [['http', 'HTTP GET'], ['cmd', 'Command'], ['none', 'None']]);
  health.addEventListener('change', showHealth);
  const groups = [...new Set(devices.map((d) => d.Group).filter((g) => g))];
  const f = el('form', { id: 'dep-form', class: 'card mb-4', onsubmit: (e) => submit(e, devices) },
    el('div', { class: 'card-header' }, 'New deployment'),
    el('div', { class: 'card-body' },
      el('div', { class: 'row g-3' },
        field('App name', input('dep-app', { placeholder: 'web', required: true, pattern: '[a-z0-9][a-z0-9._\\-]*' })),
        field('Upload', input('dep-file', { type: 'file' }), 'A .tar.gz or .zip of the app, or a single file: it lands in /app'),
        field('Version', input('dep-version', { placeholder: 'next number' })),
        field('Base templates', input('dep-bases', { list: 'dep-templates', placeholder: 'python@3.11' }), 'Comma-separated; in the registry'),
        el('datalist', { id: 'dep-templates' }, templates.map((t) => el('option', { value: t }))),
        field('Command', el('textarea', { class: 'form-control form-control-sm mono', id: 'dep-cmd', rows: 2,
          placeholder: '/usr/bin/python3.11\napp.py' }), 'One argument per line; run in /app'),
        field('Environment', el('textarea', { class: 'form-control form-control-sm mono', id: 'dep-env', rows: 2,
          placeholder: 'PORT=8000' }), 'KEY=VALUE, one per line'),
        field('Ports', input('dep-ports', { placeholder: '8080:8000' }), 'HOST:CONTAINER, comma-separated'),
        field('Network', select('dep-network', [['bridge', 'bridge'], ['host', 'host'], ['none', 'none']])),
        field('Restart', select('dep-restart', [['no', 'no'], ['on-failure:3', 'on-failure:3'], ['always', 'always'], ['unless-stopped', 'unless-stopped']])),
        field('Memory', input('dep-memory', { placeholder: '128m' })),
        field('CPUs', input('dep-cpus', { type: 'number', step: '0.1', min: '0.01', placeholder: 'no limit' })),
        field('Container name', input('dep-name', { placeholder: 'the app name' })),
        field('Devices at a time', input('dep-parallel', { type: 'number', value: 1, min: 1 }), 'A rolling update stops at the first failure'),
        field('Group', select('dep-group', [['', 'the devices chosen below'], ...groups.map((g) => [g, `group ${g}`])])),
        el('div', { class: 'col-12' }, el('div', { class: 'form-label small fw-semibold' }, 'Devices'),
          el('div', { class: 'd-flex flex-wrap gap-3', id: 'dep-devices' }, devices.length === 0 ? 'No devices yet.'
            : devices.map((d) => el('div', { class: 'form-check' },
              el('input', { class: 'form-check-input dep-device', type: 'checkbox', value: d.Name, id: `dep-dev-${d.Id}` }),
              el('label', { class: 'form-check-label', for: `dep-dev-${d.Id}` }, d.Name,
                el('span', { class: 'text-secondary small ms-1' }, d.State)))))),
        el('div', { class: 'col-12' }, el('div', { class: 'form-label small fw-semibold' }, 'Health check')),
        field('Kind', health),
        el('div', { class: 'col-12' }, healthFields),
        el('div', { class: 'col-12', id: 'dep-form-error' }),
        el('div', { class: 'col-12' }, el('button', { class: 'btn btn-primary', id: 'dep-submit', type: 'submit' }, 'Deploy')))));
  setTimeout(showHealth);
  return f;
}

async function loadList() {
  const rows = await api('GET', '/deployments?limit=100');
  $('#dep-list').replaceChildren(rows.length === 0 ? el('div', { class: 'text-secondary p-3' }, 'No deployments yet.')
    : el('div', { class: 'table-responsive' }, el('table', { class: 'table table-sm table-hover mb-0', id: 'dep-table' },
      el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'App'), el('th', {}, 'State'), el('th', {}, 'Devices'),
        el('th', { class: 'd-none d-md-table-cell' }, 'Make'), el('th', { class: 'd-none d-md-table-cell' }, 'Push'),
        el('th', { class: 'd-none d-md-table-cell' }, 'By'), el('th', { class: 'd-none d-md-table-cell' }, 'When'))),
      el('tbody', {}, rows.map((d) => el('tr', { 'data-id': d.Id },
        el('td', {}, el('a', { href: `/deployment.html?id=${d.Id}` }, d.Id)),
        el('td', { class: 'mono' }, el('a', { href: `/deployment.html?id=${d.Id}` }, d.Template)),
        el('td', {}, deployBadge(d.State)),
        el('td', {}, `${d.Healthy}/${d.Targets} healthy on this version`),
        el('td', { class: 'd-none d-md-table-cell' }, secs(d.MakeSeconds)),
        el('td', { class: 'd-none d-md-table-cell' }, `${secs(d.PushSeconds)} · ${bytes(d.PushBytes)}`),
        el('td', { class: 'd-none d-md-table-cell' }, d.User),
        el('td', { class: 'd-none d-md-table-cell small' }, when(d.Created))))))));
  $('#dep-list-error').replaceChildren();
}

async function start() {
  await frame('Deployments');
  main.append(el('h1', { class: 'h3 mb-3' }, 'Deployments'));
  if (isAdmin()) {
    const [devices, apps] = await Promise.all([api('GET', '/devices'), api('GET', '/apps')]);
    main.append(form(devices, apps.Templates || []));
  }
  main.append(el('div', { id: 'dep-list-error' }),
    el('div', { class: 'card' }, el('div', { class: 'card-header' }, 'Recent'),
      el('div', { class: 'card-body p-0', id: 'dep-list' }, spinner())));
  every(3000, () => loadList().catch((e) => showError($('#dep-list-error'), e)));
}

start().catch((e) => showError(main, e));
