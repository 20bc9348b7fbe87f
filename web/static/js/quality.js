// Quality requests (signalling/PROTOCOL.md, `quality`): for each other
// participant, the most of their video this page wants, from the size of
// their tile on screen. A small tile needs only the quarter-size layer, the
// large (speaker) tile the full one, and a tile nobody can see none at all,
// so the media server sends no more than is shown and the publisher can
// pause what nobody shows (dynacast).
//
// Requests are sent debounced (tiles settle after a layout change) and only
// when a participant's wanted layer changed from the one last sent.

// DEBOUNCE_MS: how long tile sizes must stay put before requests go out.
const DEBOUNCE_MS = 400;

// Widths (device pixels) of the video as shown, up to which a layer is
// enough: the quarter layer of a 720p camera is 320 px wide, the half 640
// (simulcast.js); a little upscaling is not noticeable.
const Q_MAX = 400;
const H_MAX = 720;
// MAX_DPR: on very dense screens a tile does not need three times the pixels.
const MAX_DPR = 2;

export const LAYER_NAMES = ['q', 'h', 'f', 'none'];

// layerForSize picks the layer for a video shown in a box of w x h CSS
// pixels, with the video's aspect ratio (width / height; 16:9 when unknown)
// and the screen's device pixel ratio. An empty box wants none.
export function layerForSize(w, h, aspect = 16 / 9, dpr = 1) {
  if (!(w > 0 && h > 0)) return 'none';
  const a = aspect > 0 ? aspect : 16 / 9;
  const shown = Math.min(w, h * a) * Math.min(Math.max(dpr || 1, 1), MAX_DPR);
  if (shown <= Q_MAX) return 'q';
  if (shown <= H_MAX) return 'h';
  return 'f';
}

// QualityRequests watches the tiles and sends `quality` messages.
//   send(msg)        writes a message; false when the socket is down
//   canSend()        whether requests may go out now (the call is live)
//   tileOf(pid)      {el, video} of a participant's tile, or null
//   ids()            the participants with tiles
export class QualityRequests {
  constructor({ send, canSend, tileOf, ids }) {
    this.send = send;
    this.canSend = canSend || (() => true);
    this.tileOf = tileOf;
    this.ids = ids;
    this.sent = new Map(); // pid -> layer last sent on this media session
    // Participants ever asked about: until then the server applies its
    // default, the full layer, so 'f' needs no message.
    this.asked = new Set();
    this.overrides = new Map(); // pid -> layer forced by the test hook
    this.timer = 0;
    this.observed = new Map(); // pid -> element observed
    this.resizes = typeof ResizeObserver === 'function' ? new ResizeObserver(() => this.schedule()) : null;
    document.addEventListener('visibilitychange', () => this.schedule());
  }

  // sync observes the tiles present and forgets those gone.
  sync() {
    const ids = new Set(this.ids());
    for (const [pid, el] of this.observed) {
      const t = this.tileOf(pid);
      if (!ids.has(pid) || !t || t.el !== el) {
        if (this.resizes) this.resizes.unobserve(el);
        this.observed.delete(pid);
        if (!ids.has(pid)) this.sent.delete(pid);
      }
    }
    for (const pid of ids) {
      const t = this.tileOf(pid);
      if (t && !this.observed.has(pid)) {
        this.observed.set(pid, t.el);
        if (this.resizes) this.resizes.observe(t.el);
        t.video.addEventListener('resize', () => this.schedule());
      }
    }
    this.schedule();
  }

  // wanted is the layer a participant's tile needs now.
  wanted(pid) {
    if (this.overrides.has(pid)) return this.overrides.get(pid);
    if (document.visibilityState === 'hidden') return 'none';
    const t = this.tileOf(pid);
    if (!t || t.el.hidden || !t.el.isConnected) return 'none';
    const box = t.el.getBoundingClientRect();
    const v = t.video;
    const aspect = v.videoWidth > 0 && v.videoHeight > 0 ? v.videoWidth / v.videoHeight : 16 / 9;
    return layerForSize(box.width, box.height, aspect, window.devicePixelRatio || 1);
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  // flush sends a request for every participant whose wanted layer changed.
  flush() {
    clearTimeout(this.timer);
    if (!this.canSend()) return;
    for (const pid of this.ids()) {
      const layer = this.wanted(pid);
      if (this.sent.get(pid) === layer) continue;
      if (!this.asked.has(pid) && layer === 'f') continue;
      if (this.send({ type: 'quality', participantId: pid, maxLayer: layer })) {
        this.sent.set(pid, layer);
        this.asked.add(pid);
      }
    }
  }

  // setOverride forces a participant's layer (a test hook); null returns it
  // to the tile's size.
  setOverride(pid, layer) {
    if (layer === null || layer === undefined) this.overrides.delete(pid);
    else if (LAYER_NAMES.includes(layer)) this.overrides.set(pid, layer);
    else throw new Error(`unknown layer ${layer}`);
    this.flush();
  }

  // reset forgets what was sent: after a new media session (a resumed one
  // keeps the requests) every tile's layer is sent again, 'f' included,
  // since what the server remembers is no longer known.
  reset() {
    this.sent.clear();
    this.schedule();
  }

  requests() {
    return Object.fromEntries(this.sent);
  }
}
