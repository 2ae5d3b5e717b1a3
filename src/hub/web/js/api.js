// api: every call the UI makes goes through here. It adds the session's
// CSRF token to changes, turns error replies into Error objects carrying
// the hub's message, and sends the browser to the login page when the
// session is gone (expired, logged out elsewhere).
let session = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function toLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.replace(`/login.html?next=${next}&expired=1`);
}

export async function getSession() {
  if (session) return session;
  const r = await fetch('/api/v1/session', { credentials: 'same-origin' });
  if (r.status === 401) {
    toLogin();
    throw new ApiError(401, 'not logged in');
  }
  session = await r.json();
  return session;
}

export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') {
    const s = await getSession();
    headers['X-CSRF-Token'] = s.Csrf;
  }
  const r = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401) {
    toLogin();
    throw new ApiError(401, 'the session has expired: log in again');
  }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, (data && data.message) || `HTTP ${r.status}`);
  return data;
}

export function isAdmin() {
  return session && session.Role === 'admin';
}

export async function logout() {
  try {
    await api('POST', '/logout');
  } finally {
    session = null;
    location.replace('/login.html');
  }
}

// An event stream (logs, terminal output): handlers by event name, each
// given the decoded bytes (out/err) or the text.
export function events(path, handlers) {
  const es = new EventSource(`/api/v1${path}`, { withCredentials: true });
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  for (const name of ['out', 'err']) {
    es.addEventListener(name, (e) => handlers[name] && handlers[name](bytes(e.data)));
  }
  for (const name of ['exit', 'error', 'end']) {
    es.addEventListener(name, (e) => {
      if (name !== 'exit') es.close();
      if (handlers[name]) handlers[name](e.data);
    });
  }
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) return;
    es.close();
    if (handlers.error) handlers.error('the connection to the hub was lost');
  };
  return es;
}
