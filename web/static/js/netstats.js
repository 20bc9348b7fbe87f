// The connection indicator: the media server's `stats` message (every 5 s,
// signalling/PROTOCOL.md) put into plain English for the person in the
// call: "Good connection", "Fair connection" or "Poor connection", with the
// figures behind it on hover or keyboard focus.

// Limits between good and fair, and fair and poor. Loss is the worst
// fraction lost either way; the round trip is to the media server; the
// available bit rate is the server's estimate of what can reach this
// device (the quarter video layer needs about 150 kbit/s, the full one 1.7
// Mbit/s), judged only while some video is received.
export const LIMITS = {
  fair: { loss: 0.03, rttMs: 300, availableBitrate: 600000 },
  poor: { loss: 0.10, rttMs: 600, availableBitrate: 200000 },
};

// IMPROVE_AFTER: how many reports in a row must be better before the
// indicator shows a better level (worse shows at once), so that it does
// not flicker.
const IMPROVE_AFTER = 2;

const RANK = { good: 0, fair: 1, poor: 2 };

// rate returns 'good', 'fair' or 'poor' for one stats message, and the
// reasons (plain words) for anything short of good.
export function rate(stats) {
  const pub = (stats && stats.publish) || {};
  const sub = (stats && stats.subscribe) || {};
  const layers = (stats && stats.layers) || {};
  const loss = Math.max(Number(pub.lost) || 0, Number(sub.lost) || 0);
  const rtt = Number(sub.rttMs) || 0;
  const receivingVideo = Object.keys(layers).length > 0;
  const avail = receivingVideo ? Number(sub.availableBitrate) || 0 : 0;
  const check = (lim) => {
    const why = [];
    if (loss >= lim.loss) why.push('some of the sound and picture is being lost');
    if (rtt >= lim.rttMs) why.push('there is a delay on the line');
    if (avail > 0 && avail < lim.availableBitrate) why.push('the connection is slow');
    return why;
  };
  const poor = check(LIMITS.poor);
  if (poor.length) return { level: 'poor', reasons: poor };
  const fair = check(LIMITS.fair);
  if (fair.length) return { level: 'fair', reasons: fair };
  return { level: 'good', reasons: [] };
}

// rateText formats a bit rate in words people meet on broadband adverts.
export function rateText(bps) {
  const n = Number(bps) || 0;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} Mbit/s`;
  return `${Math.round(n / 1e3)} kbit/s`;
}

function lossText(f) {
  const pct = (Number(f) || 0) * 100;
  if (pct < 0.5) return 'nothing lost';
  return `${pct < 10 ? pct.toFixed(1) : Math.round(pct)}% lost`;
}

// details lists the figures of a stats message as short sentences.
export function details(stats) {
  const pub = (stats && stats.publish) || {};
  const sub = (stats && stats.subscribe) || {};
  const lines = [];
  lines.push(`Sending: ${rateText(pub.bitrate)}, ${lossText(pub.lost)}.`);
  let recv = `Receiving: ${rateText(sub.bitrate)}, ${lossText(sub.lost)}`;
  if (Number(sub.availableBitrate) > 0) recv += ` (room for about ${rateText(sub.availableBitrate)})`;
  lines.push(`${recv}.`);
  if (Number(sub.rttMs) > 0) lines.push(`Delay to the visit service: ${Math.round(sub.rttMs)} ms there and back.`);
  return lines;
}

const LABELS = { good: 'Good connection', fair: 'Fair connection', poor: 'Poor connection' };
const ADVICE = {
  good: '',
  fair: 'The picture may be less sharp.',
  poor: 'The picture may freeze or be blurry. Moving closer to your Wi-Fi router, or stopping downloads and other video, can help.',
};

// ConnectionIndicator shows the level in label (its text and data-level)
// and the figures in detailsEl; announce(text) is told when the
// connection becomes poor.
export class ConnectionIndicator {
  constructor({ label, detailsEl, announce }) {
    this.label = label;
    this.detailsEl = detailsEl;
    this.announce = announce || (() => {});
    this.level = '';
    this.better = 0; // reports in a row better than the level shown
    this.last = null; // the last stats message
    this.lastRating = null;
  }

  update(stats) {
    this.last = stats;
    const r = rate(stats);
    this.lastRating = r;
    let next = this.level;
    if (!this.level || RANK[r.level] >= RANK[this.level]) {
      next = r.level;
      this.better = 0;
    } else if (++this.better >= IMPROVE_AFTER) {
      next = r.level;
      this.better = 0;
    }
    const worse = this.level && RANK[next] > RANK[this.level];
    this.level = next;
    this.label.textContent = LABELS[next];
    this.label.dataset.level = next;
    this.label.hidden = false;
    const lines = [...details(stats)];
    if (r.reasons.length) lines.unshift(`Now: ${r.reasons.join(', and ')}.`);
    if (ADVICE[next]) lines.push(ADVICE[next]);
    this.detailsEl.replaceChildren(...lines.map((l) => {
      const p = document.createElement('span');
      p.textContent = l;
      return p;
    }));
    if (worse && next === 'poor') this.announce('Your connection is poor. The picture may freeze or be blurry.');
  }

  reset() {
    this.level = '';
    this.better = 0;
    this.label.hidden = true;
  }

  state() {
    return { level: this.level || 'unknown', measured: this.lastRating ? this.lastRating.level : 'unknown' };
  }
}
