// Users & tokens: admins add and remove users; everyone makes and revokes
// their own API tokens (the secret is shown once, at creation).
import { api, isAdmin } from './api.js';
import { $, act, el, frame, showError, spinner, viewerNote, when } from './ui.js';

const main = $('#main');

async function loadUsers() {
  const users = await api('GET', '/users');
  $('#users').replaceChildren(el('div', { class: 'table-responsive' }, el('table', { class: 'table mb-0', id: 'user-table' },
    el('thead', {}, el('tr', {}, el('th', {}, 'User'), el('th', {}, 'Role'), el('th', { class: 'd-none d-md-table-cell' }, 'Devices'),
      el('th', { class: 'd-none d-md-table-cell' }, 'Since'), el('th', {}))),
    el('tbody', {}, users.map((u) => el('tr', { dataset: { user: u.Name } },
      el('td', { class: 'fw-semibold' }, u.Name), el('td', {}, u.Role),
      el('td', { class: 'd-none d-md-table-cell' }, u.Devices ?? '–'),
      el('td', { class: 'small d-none d-md-table-cell' }, when(u.Created)),
      el('td', { class: 'text-end' }, viewerNote(el('button', {
        class: 'btn btn-sm btn-outline-danger',
        onclick: (e) => {
          if (!confirm(`Remove user ${u.Name}?`)) return;
          act(e.currentTarget, async () => {
            await api('DELETE', `/users/${encodeURIComponent(u.Name)}`);
            await loadUsers();
          }, `User ${u.Name} removed`);
        },
      }, 'Remove')))))))));
}

function userForm() {
  const form = el('form', { class: 'row g-2 align-items-end', id: 'user-form' },
    el('div', { class: 'col-md-4' }, el('label', { class: 'form-label small', for: 'user-name' }, 'Name'),
      el('input', { class: 'form-control form-control-sm', id: 'user-name', required: true })),
    el('div', { class: 'col-md-4' }, el('label', { class: 'form-label small', for: 'user-password' }, 'Password (8 or more)'),
      el('input', { class: 'form-control form-control-sm', id: 'user-password', type: 'password', autocomplete: 'new-password' })),
    el('div', { class: 'col-md-2' }, el('label', { class: 'form-label small', for: 'user-role' }, 'Role'),
      el('select', { class: 'form-select form-select-sm', id: 'user-role' }, el('option', { value: 'viewer' }, 'viewer'), el('option', { value: 'admin' }, 'admin'))),
    el('div', { class: 'col-md-2' }, el('button', { class: 'btn btn-sm btn-primary w-100', id: 'user-add' }, 'Add user')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act($('#user-add'), async () => {
      await api('POST', '/users', { Name: $('#user-name').value.trim(), Password: $('#user-password').value, Role: $('#user-role').value });
      form.reset();
      await loadUsers();
    }, 'User added');
  });
  return form;
}

async function loadTokens() {
  const tokens = await api('GET', '/tokens');
  $('#tokens').replaceChildren(tokens.length === 0 ? el('div', { class: 'text-secondary p-3' }, 'No API tokens.')
    : el('div', { class: 'table-responsive' }, el('table', { class: 'table mb-0', id: 'token-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Token'), el('th', { class: 'd-none d-md-table-cell' }, 'Created'), el('th', {}, 'Last used'), el('th', {}))),
      el('tbody', {}, tokens.map((t) => el('tr', { dataset: { token: t.Name } },
        el('td', { class: 'fw-semibold' }, t.Name), el('td', { class: 'small d-none d-md-table-cell' }, when(t.Created)),
        el('td', { class: 'small' }, when(t.LastUsed)),
        el('td', { class: 'text-end' }, el('button', {
          class: 'btn btn-sm btn-outline-danger',
          onclick: (e) => act(e.currentTarget, async () => {
            await api('DELETE', `/tokens/${t.Id}`);
            await loadTokens();
          }, `Token ${t.Name} revoked`),
        }, 'Revoke'))))))));
}

function tokenForm() {
  const form = el('form', { class: 'd-flex gap-2', id: 'token-form' },
    el('input', { class: 'form-control form-control-sm', id: 'token-name', placeholder: 'Name, e.g. ci', 'aria-label': 'Token name' }),
    el('button', { class: 'btn btn-sm btn-primary text-nowrap', id: 'token-add' }, 'Create token'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act($('#token-add'), async () => {
      const t = await api('POST', '/tokens', { Name: $('#token-name').value.trim() });
      form.reset();
      $('#token-secret').replaceChildren(el('div', { class: 'alert alert-warning mb-0 mt-2' },
        el('div', {}, `Token ${t.Name} — copy it now, it is not shown again:`),
        el('code', { class: 'user-select-all', id: 'token-value' }, t.Token)));
      await loadTokens();
    });
  });
  return form;
}

async function start() {
  const s = await frame('Users & tokens');
  main.append(el('h1', { class: 'h3 mb-3' }, 'Users & tokens'));
  if (isAdmin()) {
    main.append(el('div', { class: 'card mb-3' }, el('div', { class: 'card-header' }, 'Users'),
      el('div', { class: 'card-body border-bottom' }, userForm()), el('div', { id: 'users-error' }),
      el('div', { class: 'card-body p-0', id: 'users' }, spinner())));
    loadUsers().catch((e) => showError($('#users-error'), e));
  } else {
    main.append(el('p', { class: 'text-secondary' }, `You are ${s.Name}, a viewer: you can look at your devices and change nothing.`));
  }
  main.append(el('div', { class: 'card mb-3' }, el('div', { class: 'card-header' }, 'Your API tokens'),
    el('div', { class: 'card-body border-bottom' }, el('p', { class: 'small text-secondary mb-2' },
      'For CI and scripts: send "Authorization: Bearer TOKEN" (docs/hub-api.md).'), tokenForm(), el('div', { id: 'token-secret' })),
    el('div', { id: 'tokens-error' }), el('div', { class: 'card-body p-0', id: 'tokens' }, spinner())));
  loadTokens().catch((e) => showError($('#tokens-error'), e));
}

start().catch((e) => showError(main, e));
