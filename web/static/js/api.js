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
  const res = await send(path, init);
  const data = await readJSON(res);
  if (!res.ok) throw failure(res, path, data);
  return data;
}

// fetchBlob GETs a file (a recording to download) and returns {blob, name}:
// the name from Content-Disposition, or fallback. Failures throw ApiError
// with the problem document's fields.
export async function fetchBlob(path, fallback) {
  const res = await send(path, { method: 'GET', credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw failure(res, path, await readJSON(res));
  const disposition = res.headers.get('Content-Disposition') || '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  let name = fallback;
  if (m) {
    try {
      name = decodeURIComponent(m[1]);
    } catch {
      name = m[1];
    }
  }
  return { blob: await res.blob(), name };
}

// send runs fetch with the CSRF header on state-changing methods; a network
// failure becomes ApiError status 0.
async function send(path, init) {
  if (init.method !== 'GET' && init.method !== 'HEAD' && session.csrfToken) {
    init.headers = { ...init.headers, 'X-CSRF-Token': session.csrfToken };
  }
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
}

async function readJSON(res) {
  const type = res.headers.get('Content-Type') || '';
  if (res.status === 204 || !/json/.test(type)) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

// failure makes the ApiError of a failed response; a 401 (except from
// login itself) ends the session in this tab.
function failure(res, path, data) {
  if (res.status === 401 && path !== '/api/v1/auth/login') {
    session.clear();
    onUnauthorized();
  }
  return new ApiError(res.status, data);
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
  booking: (id) => request('GET', `/api/v1/bookings/${enc(id)}`),
  createBooking: (b) => request('POST', '/api/v1/bookings', b),
  cancelBooking: (id, reason) => request('POST', `/api/v1/bookings/${enc(id)}/cancel`, { reason }),
  setSightOnly: (id, enabled, reason) => request('PUT', `/api/v1/bookings/${enc(id)}/sight-only`, { enabled, reason }),
  // Monitoring and recordings (security staff).
  monitorCalls: async () => list(await request('GET', '/api/v1/monitor/calls')),
  watch: (bookingId) => request('POST', `/api/v1/monitor/calls/${enc(bookingId)}/watch`, {}),
  staffAction: (bookingId, action, participantId, reason) =>
    request('POST', `/api/v1/monitor/calls/${enc(bookingId)}/actions`, { action, participantId, reason }),
  recordings: async (from, to) =>
    list(await request('GET', `/api/v1/recordings?from=${enc(from)}&to=${enc(to)}`)),
  recording: (id) => request('GET', `/api/v1/recordings/${enc(id)}`),
  holdRecording: (id, reason) => request('PUT', `/api/v1/recordings/${enc(id)}/hold`, { reason }),
  releaseRecording: (id, reason) => request('DELETE', `/api/v1/recordings/${enc(id)}/hold`, { reason }),
};

// recordingFileURL is where a recording's file is played from, or with
// download set, downloaded (a separate permission).
export function recordingFileURL(id, name, download = false) {
  return `/api/v1/recordings/${enc(id)}/files/${enc(name)}${download ? '?download=1' : ''}`;
}
