// The console's JSON API under /console/api. The session cookie is HttpOnly and
// rides along by itself; the CSRF token the hub gave at sign-in is kept in memory
// only and sent in a header with every change.

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, code, reason) {
    super(reason || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.reason = reason;
  }
}

/**
 * `background` marks requests the page makes by itself (refreshing after an
 * event): they do not keep an unattended session alive.
 */
export async function api(method, path, body, { background = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (background) headers['X-Console-Background'] = '1';
  const response = await fetch(`/console/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data && data.error, data && data.reason);
    if (response.status === 401 && path !== '/sign-in') {
      window.dispatchEvent(new CustomEvent('testigo:signed-out'));
    }
    throw error;
  }
  return data;
}

/** Sends a file as it is (a checklist to import), with the CSRF token. */
export async function upload(path, file, contentType) {
  const response = await fetch(`/console/api${path}`, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': contentType, 'X-CSRF-Token': csrfToken || '' },
    body: file,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data && data.error, data && data.reason);
  return data;
}

/**
 * Server-sent events: `onChange(revision)` after anything changes on the hub;
 * `onState('live' | 'reconnecting' | 'closed')` as the connection comes and goes.
 */
export function watch(onChange, onState) {
  const source = new EventSource('/console/api/events');
  source.addEventListener('ready', () => onState('live'));
  source.addEventListener('changed', (e) => onChange(e.data));
  source.addEventListener('signed-out', () => {
    source.close();
    window.dispatchEvent(new CustomEvent('testigo:signed-out'));
  });
  // A closed stream (the hub restarted, or the session ended) is not retried by the
  // browser; the app checks the session and watches again.
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  return () => source.close();
}
