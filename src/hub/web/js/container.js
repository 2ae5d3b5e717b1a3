// Container page: its state and controls, its log followed live, a
// terminal into it (an exec with a TTY, xterm.js) and its CPU and memory.
import { api, events, isAdmin } from './api.js';
import { lineChart, setPoints } from './charts.js';
import { requireTree } from './cjs.js';
import { $, act, badge, bytes, el, every, frame, showError, spinner, toast, viewerNote } from './ui.js';

const main = $('#main');
const params = new URLSearchParams(location.search);
const deviceId = params.get('device');
const ref = params.get('id');
const base = `/devices/${deviceId}/containers/${encodeURIComponent(ref)}`;
let container = null;
let device = null;

function header() {
  const status = container.State ? container.State.Status : 'unknown';
  const can = {
    running: ['stop', 'restart', 'pause'], paused: ['unpause', 'stop'],
    stopped: ['start', 'remove'], generated: ['start', 'remove'], dead: ['remove'],
  }[status] || [];
  return el('div', { id: 'container-header', class: 'mb-3' },
    el('div', { class: 'd-flex flex-wrap align-items-center gap-2' },
      el('a', { href: '/', class: 'text-decoration-none' }, 'Devices'), el('span', { class: 'text-secondary' }, '/'),
      el('a', { href: `/device.html?id=${deviceId}`, class: 'text-decoration-none' }, device.Name), el('span', { class: 'text-secondary' }, '/'),
      el('h1', { class: 'h3 mb-0 me-2' }, container.Name || container.Id.slice(0, 12)), badge(status),
      el('div', { class: 'btn-group btn-group-sm ms-md-auto', id: 'actions' }, can.map((a) => viewerNote(el('button', {
        class: `btn btn-outline-${a === 'remove' || a === 'stop' ? 'danger' : 'secondary'}`,
        dataset: { action: a },
        onclick: (e) => act(e.currentTarget, async () => {
          if (a === 'remove') {
            await api('DELETE', base);
            location.replace(`/device.html?id=${deviceId}`);
            return;
          }
          await api('POST', `${base}/${a}${a === 'stop' || a === 'restart' ? '?t=3' : ''}`);
          await refresh();
        }, `${a} done`),
      }, a))))),
    el('div', { class: 'small text-secondary mt-1 mono' },
      `${container.Id.slice(0, 12)} · ${(container.Templates || []).join(', ')} · ${(container.Cmd || []).join(' ')} · created ${container.Created || '–'}`));
}

async function refresh() {
  container = await api('GET', base);
  $('#container-header').replaceWith(header());
}

// ---- logs ----
let logStream = null;
function followLogs() {
  const view = $('#log');
  view.replaceChildren();
  if (logStream) logStream.close();
  const decoders = { out: new TextDecoder(), err: new TextDecoder() };
  const append = (kind, text) => {
    const atEnd = view.scrollTop + view.clientHeight >= view.scrollHeight - 8;
    view.append(kind === 'err' ? el('span', { class: 'stderr' }, text) : document.createTextNode(text));
    while (view.childNodes.length > 5000) view.firstChild.remove();
    if (atEnd) view.scrollTop = view.scrollHeight;
  };
  $('#log-state').replaceChildren(el('span', { class: 'text-success' }, '● following'));
  logStream = events(`${base}/logs?tail=500`, {
    out: (b) => append('out', decoders.out.decode(b, { stream: true })),
    err: (b) => append('err', decoders.err.decode(b, { stream: true })),
    error: (m) => $('#log-state').replaceChildren(el('span', { class: 'text-danger' }, m)),
    end: () => $('#log-state').replaceChildren(el('span', { class: 'text-secondary' }, 'the log ended (the container stopped)')),
  });
}

// ---- terminal ----
let Terminal = null;
async function openTerminal() {
  const box = $('#terminal');
  const button = $('#terminal-open');
  button.disabled = true;
  box.replaceChildren(spinner('Starting a shell…'));
  try {
    if (!Terminal) Terminal = await requireTree('/vendor/xterm-lib/public/Terminal.js');
    const TerminalClass = Terminal.Terminal || Terminal;
    const cols = Math.max(40, Math.floor((box.clientWidth - 16) / 9));
    const rows = window.innerWidth < 576 ? 18 : 24;
    const cmd = $('#terminal-cmd').value.trim();
    const t = await api('POST', `${base}/terminal`, { Rows: rows, Cols: cols, ...(cmd ? { Cmd: cmd.split(/\s+/) } : {}) });
    box.replaceChildren();
    // The DOM renderer: text a screen reader (and a test) can read.
    const term = new TerminalClass({ cols, rows, cursorBlink: true, fontSize: 14, rendererType: 'dom' });
    term.open(box);
    term.focus();
    const decoder = new TextDecoder();
    let pending = '';
    let sending = false;
    const flush = async () => {
      if (sending || !pending) return;
      sending = true;
      const data = pending;
      pending = '';
      try {
        await api('POST', `/terminals/${t.Id}/input`, { Data: data });
      } catch (e) {
        term.write(`\r\n[input not sent: ${e.message}]\r\n`);
      }
      sending = false;
      flush();
    };
    term.on('data', (d) => {
      pending += d;
      flush();
    });
    events(`/terminals/${t.Id}/output`, {
      out: (b) => term.write(decoder.decode(b, { stream: true })),
      err: (b) => term.write(decoder.decode(b, { stream: true })),
      exit: (code) => term.write(`\r\n[process exited with ${code}]\r\n`),
      error: (m) => term.write(`\r\n[${m}]\r\n`),
      end: () => {
        button.disabled = false;
        $('#terminal-state').textContent = 'ended';
      },
    });
    $('#terminal-state').textContent = 'connected';
    box.dataset.terminal = t.Id;
  } catch (e) {
    showError(box, e);
    button.disabled = false;
  }
}

// ---- stats ----
const charts = {};
let last = null;
const live = [];
async function sampleStats() {
  if (!container || !container.State || container.State.Status !== 'running') {
    $('#stats-now').textContent = 'Not running.';
    return;
  }
  const s = await api('GET', `${base}/stats`);
  if (last) {
    const dt = s.ReadTime - last.ReadTime;
    const cpu = dt > 0 ? ((s.CpuNs - last.CpuNs) / 1e9 / dt) * 100 : 0;
    live.push({ T: s.ReadTime, Cpu: cpu, Mem: s.Memory });
    if (live.length > 150) live.shift();
    setPoints(charts.cpu, live, (x) => x.Cpu);
    setPoints(charts.mem, live, (x) => x.Mem / 1048576);
    $('#stats-now').textContent = `CPU ${cpu.toFixed(1)} % of one CPU · memory ${bytes(s.Memory)}${s.MemoryLimit ? ` of ${bytes(s.MemoryLimit)}` : ''} · ${s.Pids} processes`;
  }
  last = s;
}

async function loadHistory() {
  const h = await api('GET', `/devices/${deviceId}/history?since=3600&container=${encodeURIComponent(container.Id)}`);
  setPoints(charts.hcpu, h, (x) => x.Cpu);
  setPoints(charts.hmem, h, (x) => x.Mem / 1048576);
  $('#history-note').textContent = h.length ? `${h.length} samples in the last hour`
    : 'No samples yet: the hub samples running containers periodically (--sample-interval).';
}

function tabs() {
  const tab = (key, label, active) => el('li', { class: 'nav-item' }, el('button', {
    class: `nav-link${active ? ' active' : ''}`, id: `tab-${key}`, 'data-bs-toggle': 'tab', 'data-bs-target': `#pane-${key}`, type: 'button',
  }, label));
  const chart = (key, title) => el('div', { class: 'col-md-6' }, el('div', { class: 'small text-secondary mb-1' }, title),
    el('div', { class: 'chart-box' }, el('canvas', { id: `chart-${key}` })));
  return el('div', { class: 'card' },
    el('div', { class: 'card-header pb-0 border-0' }, el('ul', { class: 'nav nav-tabs card-header-tabs' },
      tab('logs', 'Logs', true), tab('terminal', 'Terminal'), tab('stats', 'Stats'))),
    el('div', { class: 'card-body tab-content' },
      el('div', { class: 'tab-pane show active', id: 'pane-logs' },
        el('div', { class: 'd-flex justify-content-between align-items-center mb-2 small' }, el('span', { id: 'log-state' }),
          el('button', { class: 'btn btn-sm btn-outline-secondary', onclick: followLogs }, 'Reload')),
        el('div', { class: 'log-view', id: 'log' })),
      el('div', { class: 'tab-pane', id: 'pane-terminal' },
        el('div', { class: 'd-flex flex-wrap gap-2 mb-2 align-items-center' },
          el('input', { class: 'form-control form-control-sm mono w-auto', id: 'terminal-cmd', value: '/bin/sh', 'aria-label': 'Command' }),
          viewerNote(el('button', { class: 'btn btn-sm btn-primary', id: 'terminal-open', onclick: openTerminal }, 'Open terminal')),
          el('span', { class: 'small text-secondary', id: 'terminal-state' })),
        el('div', { class: 'terminal-box', id: 'terminal' },
          el('div', { class: 'text-secondary small p-2' }, isAdmin() ? 'A shell in the running container, with a terminal.' : 'A viewer cannot open a terminal.'))),
      el('div', { class: 'tab-pane', id: 'pane-stats' },
        el('div', { class: 'mb-3 fw-semibold', id: 'stats-now' }, 'Sampling…'),
        el('div', { class: 'row g-3 mb-3' }, chart('cpu', 'CPU % (live, every 2 s)'), chart('mem', 'Memory MiB (live)')),
        el('div', { class: 'row g-3' }, chart('hcpu', 'CPU % (last hour, sampled by the hub)'), chart('hmem', 'Memory MiB (last hour)')),
        el('div', { class: 'small text-secondary mt-2', id: 'history-note' }))));
}

async function start() {
  await frame('Dashboard');
  main.append(el('div', { id: 'container-header' }, spinner('Loading the container…')));
  try {
    device = await api('GET', `/devices/${deviceId}`);
    container = await api('GET', base);
  } catch (e) {
    $('#container-header').replaceWith(el('div', { id: 'container-header' }));
    showError(main, e);
    return;
  }
  document.title = `${container.Name || ref} · ${device.Name} · reg-hub`;
  $('#container-header').replaceWith(header());
  main.append(tabs());
  charts.cpu = lineChart($('#chart-cpu'), 'CPU %', '#0d6efd');
  charts.mem = lineChart($('#chart-mem'), 'MiB', '#6f42c1');
  charts.hcpu = lineChart($('#chart-hcpu'), 'CPU %', '#0d6efd');
  charts.hmem = lineChart($('#chart-hmem'), 'MiB', '#6f42c1');
  followLogs();
  every(2000, () => sampleStats().catch(() => {}));
  every(10000, () => loadHistory().catch(() => {}));
  every(3000, () => refresh().catch((e) => toast(e.message, 'danger')));
}

start().catch((e) => showError(main, e));
