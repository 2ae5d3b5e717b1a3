// The login page: POST /api/v1/login, then on to where the user was going.
const form = document.getElementById('login');
const notice = document.getElementById('notice');
const params = new URLSearchParams(location.search);

function say(kind, text) {
  const d = document.createElement('div');
  d.className = `alert alert-${kind}`;
  d.setAttribute('role', 'alert');
  d.id = kind === 'danger' ? 'login-error' : 'login-info';
  d.textContent = text;
  notice.replaceChildren(d);
}

if (params.get('expired')) say('info', 'Your session has ended: log in again.');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const button = document.getElementById('submit');
  button.disabled = true;
  button.textContent = 'Logging in…';
  try {
    const r = await fetch('/api/v1/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ Name: form.name.value, Password: form.password.value }),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.message || `HTTP ${r.status}`);
    const next = params.get('next');
    location.replace(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
  } catch (err) {
    say('danger', err.message);
    form.password.value = '';
    form.password.focus();
  } finally {
    button.disabled = false;
    button.textContent = 'Log in';
  }
});
