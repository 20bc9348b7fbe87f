// The signalling WebSocket: one per participant at /ws, JSON messages as in
// signalling/PROTOCOL.md (version 1).

export const PROTOCOL_VERSION = 1;

// PING_INTERVAL_MS is how often the client sends an application-level ping.
const PING_INTERVAL_MS = 5000;
// SILENCE_MS: a socket that brings nothing (not even a pong) for this long
// is lost, even if the browser has not noticed (a network gone silently).
const SILENCE_MS = 15000;
// OPEN_TIMEOUT_MS bounds how long the socket may take to open.
const OPEN_TIMEOUT_MS = 10000;

// signallingURL is the /ws address on the page's own origin, wss on https.
export function signallingURL(loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws`;
}

// Signal owns one WebSocket. It sends `join` (with `resume: true` when
// resume is set: we still hold the peer connections of an earlier socket)
// as soon as the socket opens, pings every 5 s, hands every parsed server
// message to onMessage and calls onClose(event, {byClient}) once when the
// socket is gone, or has been silent for SILENCE_MS.
export class Signal {
  constructor({ url, token, resume, onMessage, onClose }) {
    this.url = url;
    this.token = token;
    this.resume = !!resume;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.ws = null;
    this.pingTimer = 0;
    this.openTimer = 0;
    this.closing = false;
    this.closed = false;
    this.lastMessage = Date.now();
    this.waiters = []; // probe() resolvers waiting for any message
  }

  open() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      console.error('gatehouse: cannot open WebSocket', err);
      queueMicrotask(() => this.finish({ code: 1006, reason: String(err) }));
      return;
    }
    this.ws = ws;
    this.openTimer = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, OPEN_TIMEOUT_MS);
    ws.addEventListener('open', () => {
      clearTimeout(this.openTimer);
      const join = { type: 'join', version: PROTOCOL_VERSION, token: this.token };
      if (this.resume) join.resume = true;
      this.send(join);
      this.lastMessage = Date.now();
      this.pingTimer = setInterval(() => {
        if (Date.now() - this.lastMessage > SILENCE_MS) {
          console.warn('gatehouse: signalling socket silent; treating it as lost');
          this.drop();
          return;
        }
        this.send({ type: 'ping' });
      }, PING_INTERVAL_MS);
    });
    ws.addEventListener('message', (ev) => {
      if (this.closing || typeof ev.data !== 'string') return;
      this.lastMessage = Date.now();
      for (const resolve of this.waiters.splice(0)) resolve(true);
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.warn('gatehouse: ignoring a frame that is not JSON');
        return;
      }
      if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
      try {
        this.onMessage(msg);
      } catch (err) {
        console.error('gatehouse: handling', msg.type, err);
      }
    });
    ws.addEventListener('close', (ev) => this.finish(ev));
    // An 'error' event is always followed by 'close'; nothing to do here.
  }

  // send writes msg if the socket is open and reports whether it did.
  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // probe sends a ping and resolves true if anything arrives within
  // timeoutMs: the socket still works.
  probe(timeoutMs) {
    return new Promise((resolve) => {
      if (!this.send({ type: 'ping' })) {
        resolve(false);
        return;
      }
      this.waiters.push(resolve);
      setTimeout(() => {
        const i = this.waiters.indexOf(resolve);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
    });
  }

  // close ends the socket from this side; onClose then reports byClient.
  close() {
    this.closing = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    else this.finish({ code: 1000, reason: '' });
  }

  // drop gives the socket up as lost (not a hang-up: no leave, and onClose
  // reports byClient false), at once, whatever the browser thinks of it.
  drop() {
    if (this.closed) return;
    const ws = this.ws;
    this.finish({ code: 4000, reason: 'lost' });
    this.closing = true; // ignore anything still arriving on it
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(4000, 'lost');
  }

  finish(ev) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.openTimer);
    clearInterval(this.pingTimer);
    for (const resolve of this.waiters.splice(0)) resolve(false);
    if (this.onClose) this.onClose(ev, { byClient: this.closing });
  }
}
