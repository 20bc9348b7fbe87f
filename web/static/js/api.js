// A small client for the booking API (/api/v1). The staff session is an
// HttpOnly cookie the script never sees; state-changing requests also carry
// the CSRF token from login in an X-CSRF-Token header.

const CSRF_KEY = 'gatehouse.csrfToken';
const STAFF_KEY = 'gatehouse.staff';

// ApiError is a failed request, carrying the problem document's fields
// (application/problem+json: title, status, detail, code).
export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem || {};
    super(p.detail || p.title || defaultMessage(status));
    this.status = status;
    this.code = p.code || '';
    this.title = p.title || '';
  }
}

function defaultMessage(status) {
  if (status === 0) return 'Could not reach the server. Check the network connection and try again.';
  if (status === 401) return 'Please sign in again.';
  if (status === 403) return 'Your account is not allowed to do that.';
  if (status === 404) return 'Not found. It may have been removed.';
  if (status === 409) return 'That clashes with something that changed meanwhile. Refresh and try again.';
  if (status >= 500) return 'The server had a problem. Please try again.';
  return `The request failed (status ${status}).`;
}

// session holds what login returned, for this browser tab only.
export const session = {
  get csrfToken() {
    return sessionStorage.getItem(CSRF_KEY) || '';
  },
  get staff() {
    try {
      return JSON.parse(sessionStorage.getItem(STAFF_KEY) || 'null');
    } catch {
      return null;
    }
  },
  save(csrfToken, staff) {
    sessionStorage.setItem(CSRF_KEY, csrfToken || '');
    sessionStorage.setItem(STAFF_KEY, JSON.stringify(staff || null));
  },
  clear() {
    sessionStorage.removeItem(CSRF_KEY);
    sessionStorage.removeItem(STAFF_KEY);
  },
};

// onUnauthorized is called on any 401 (except from login itself).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// request sends a JSON request and returns the parsed JSON body (or null).
// It throws ApiError on a non-2xx status or a network failure.
export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && session.csrfToken) {
    headers['X-CSRF-Token'] = session.csrfToken;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (res.status !== 204 && /json/.test(type)) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/v1/auth/login') {
      session.clear();
      onUnauthorized();
    }
    throw new ApiError(res.status, data);
  }
  return data;
}

const enc = encodeURIComponent;

function list(data) {
  // Accept a bare array or an object wrapping one ({items: [...]}).
  if (Array.isArray(data)) return data;
  if (data && typeof data === 'object') {
    for (const v of Object.values(data)) if (Array.isArray(v)) return v;
  }
  return [];
}

export const api = {
  async login(username, password) {
    const res = await request('POST', '/api/v1/auth/login', { username, password });
    session.save(res && res.csrfToken, res && res.staff);
    return res;
  },
  async logout() {
    try {
      await request('POST', '/api/v1/auth/logout', {});
    } finally {
      session.clear();
    }
  },
  prisons: async () => list(await request('GET', '/api/v1/prisons')),
  slots: async (prisonId, from, to) =>
    list(await request('GET', `/api/v1/prisons/${enc(prisonId)}/slots?from=${enc(from)}&to=${enc(to)}`)),
  prisoners: async (prisonId) => list(await request('GET', `/api/v1/prisons/${enc(prisonId)}/prisoners`)),
  contacts: async (prisonerId) => list(await request('GET', `/api/v1/prisoners/${enc(prisonerId)}/contacts`)),
  bookings: async (prisonId, from, to) =>
    list(await request('GET', `/api/v1/bookings?prisonId=${enc(prisonId)}&from=${enc(from)}&to=${enc(to)}`)),
  createBooking: (b) => request('POST', '/api/v1/bookings', b),
  cancelBooking: (id, reason) => request('POST', `/api/v1/bookings/${enc(id)}/cancel`, { reason }),
};
