// Playing a finished call's recording: the media server writes one file per
// track (signalling participants' audio and video), each starting when its
// first packet arrived. The player puts one <video> or <audio> element per
// file on one shared timeline (milliseconds from the call's start), each
// positioned by its file's startOffsetMs, and drives them all from one
// clock with one play/pause button and one position slider. Elements that
// drift more than DRIFT_MS from where the clock says they should be are put
// back; while any element that should be playing is still loading, the
// clock waits for it. Staff actions are marked on the timeline; choosing a
// mark moves the whole recording there.

import { h } from './dom.js';
import { spokenDuration } from './time.js';
import { initials } from './tiles.js';

// DRIFT_MS: how far an element may be from the shared clock before it is
// put back.
export const DRIFT_MS = 200;
// TICK_MS: how often the elements are checked against the clock.
const TICK_MS = 250;
// SETTLE_MS: after starting or moving, elements get this long to get going
// before their drift counts (a starting decoder lags a little).
const SETTLE_MS = 600;
// HAVE_FUTURE_DATA: an element can play on from where it is.
const HAVE_FUTURE_DATA = 3;
// END_SLACK_MS: near the end of its file an element has no future data to
// wait for.
const END_SLACK_MS = 500;

// clock formats a timeline position as "4:05" or "1:02:03".
export function clock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

// spokenPosition says a position for screen readers ("2 minutes 5 seconds").
function spokenPosition(ms) {
  const seconds = Math.floor(Math.max(0, ms) / 1000) % 60;
  const minutes = spokenDuration(ms);
  const sec = `${seconds} ${seconds === 1 ? 'second' : 'seconds'}`;
  if (ms < 60000) return sec;
  return seconds ? `${minutes} ${sec}` : minutes;
}

// fileTime gives the time in seconds within a file at timeline position
// positionMs, or null when the file does not cover that position.
export function fileTime(file, positionMs) {
  const t = positionMs - file.startOffsetMs;
  if (t < 0 || (file.durationMs > 0 && t >= file.durationMs)) return null;
  return t / 1000;
}

// timelineLength is the end of the last file on the timeline, in ms.
export function timelineLength(files) {
  return files.reduce((end, f) => Math.max(end, f.startOffsetMs + (f.durationMs || 0)), 0);
}

// SyncPlayer plays files in step.
//   stage        where the participants' pictures (and the hidden audio
//                elements) go
//   playButton, seek (an <input type=range>), timeLabel, markersEl and
//   stateEl      the controls
//   files        [{name, url, kind ('audio' | 'video'), participantId,
//                label (the participant's name), startOffsetMs, durationMs}]
//   markers      [{atMs, text}] staff actions on the timeline
export class SyncPlayer {
  constructor({ stage, playButton, seek, timeLabel, markersEl, stateEl, files, markers }) {
    this.stage = stage;
    this.playButton = playButton;
    this.seek = seek;
    this.timeLabel = timeLabel;
    this.markersEl = markersEl;
    this.stateEl = stateEl;
    this.files = files;
    this.markers = markers || [];
    this.length = timelineLength(files);
    this.playing = false;
    this.stalled = false;
    this.dragging = false;
    this.base = { pos: 0, wall: 0 }; // the clock: position pos at performance.now() wall
    this.settleUntil = 0;
    this.corrections = 0; // elements put back after drifting
    this.items = [];
    this.timer = 0;
    this.listeners = [];
    this.build();
    this.update();
  }

  listen(el, type, fn) {
    el.addEventListener(type, fn);
    this.listeners.push(() => el.removeEventListener(type, fn));
  }

  build() {
    const groups = new Map(); // participantId -> figure
    for (const file of this.files) {
      let group = groups.get(file.participantId);
      if (!group) {
        const status = h('p', { class: 'tile-status', hidden: true });
        const el = h('figure', { class: 'tile no-video', 'data-participant': file.participantId },
          h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(file.label)),
          h('figcaption', { class: 'tile-name' }, file.label),
          status);
        group = { el, status, videos: 0 };
        groups.set(file.participantId, group);
        this.stage.append(el);
      }
      const media = document.createElement(file.kind === 'video' ? 'video' : 'audio');
      media.preload = 'auto';
      media.src = file.url;
      media.dataset.file = file.name;
      if (file.kind === 'video') {
        media.muted = true; // sound comes from the audio files
        media.playsInline = true;
        media.setAttribute('aria-hidden', 'true');
        group.videos += 1;
      }
      group.el.prepend(media);
      const item = { file, el: media, group };
      this.items.push(item);
      this.listen(media, 'loadedmetadata', () => {
        // A file without a duration in the manifest takes the element's.
        if (!(file.durationMs > 0) && Number.isFinite(media.duration)) {
          file.durationMs = media.duration * 1000;
          this.length = timelineLength(this.files);
          this.update();
        }
      });
      this.listen(media, 'error', () => this.showState(`${file.label}: the ${file.kind} file could not be played.`));
    }
    this.groups = [...groups.values()];
    this.seek.min = '0';
    this.seek.step = '1000';
    this.listen(this.playButton, 'click', () => (this.playing ? this.pause() : this.play()));
    this.listen(this.seek, 'input', () => {
      this.dragging = true;
      this.showTime(Number(this.seek.value));
    });
    this.listen(this.seek, 'change', () => {
      this.dragging = false;
      this.seekTo(Number(this.seek.value));
    });
    this.drawMarkers();
  }

  drawMarkers() {
    this.markersEl.replaceChildren(...this.markers.map((m) => {
      const b = h('button', {
        type: 'button', class: 'timeline-marker', title: `${clock(m.atMs)} ${m.text}`,
        'aria-label': `Go to ${clock(m.atMs)}: ${m.text}`,
        onclick: () => this.seekTo(m.atMs),
      });
      b.style.left = `${this.length > 0 ? Math.min(100, (m.atMs / this.length) * 100) : 0}%`;
      return b;
    }));
  }

  // position is where the shared clock is now, in ms.
  position() {
    if (!this.playing || this.stalled) return this.base.pos;
    return Math.min(this.length, this.base.pos + (performance.now() - this.base.wall));
  }

  setClock(pos) {
    this.base = { pos: Math.max(0, Math.min(this.length, pos)), wall: performance.now() };
    this.settleUntil = this.base.wall + SETTLE_MS;
  }

  play() {
    if (this.playing) return;
    if (this.position() >= this.length) this.setClock(0);
    else this.setClock(this.position());
    this.playing = true;
    this.stalled = false;
    this.playButton.textContent = 'Pause';
    // Start the elements from this click, so the browser lets them play
    // with sound.
    this.sync(true);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.sync(false), TICK_MS);
  }

  pause() {
    this.setClock(this.position());
    this.playing = false;
    this.stalled = false;
    this.playButton.textContent = 'Play';
    clearInterval(this.timer);
    this.sync(false);
  }

  // seekTo moves the whole recording to pos (ms), playing on if it was.
  seekTo(pos) {
    this.setClock(pos);
    this.stalled = false;
    for (const item of this.items) {
      const t = fileTime(item.file, this.base.pos);
      if (t !== null) item.el.currentTime = t;
    }
    this.sync(this.playing);
  }

  // sync puts every element where the clock says: playing or paused, at
  // the right time within its file, or paused when its file does not cover
  // the position.
  sync(fromGesture) {
    let pos = this.position();
    if (this.playing && pos >= this.length) {
      this.pause();
      this.showState('End of the recording.');
      return;
    }
    const waiting = [];
    for (const item of this.items) {
      const t = fileTime(item.file, pos);
      const el = item.el;
      item.active = t !== null;
      if (t === null) {
        if (!el.paused) el.pause();
        continue;
      }
      const settling = !el.paused && performance.now() < this.settleUntil;
      if (!settling && !el.seeking && Math.abs(el.currentTime - t) * 1000 > DRIFT_MS) {
        if (!el.paused) this.corrections += 1;
        el.currentTime = t;
      }
      const nearEnd = item.file.durationMs > 0 && t * 1000 > item.file.durationMs - END_SLACK_MS;
      if (!el.error && !el.ended && !nearEnd && (el.seeking || el.readyState < HAVE_FUTURE_DATA)) waiting.push(item);
      const run = this.playing && !this.stalled;
      if (run && el.paused) {
        el.play().catch((err) => {
          if (err && err.name === 'NotAllowedError' && !fromGesture) this.pause();
        });
      } else if (!run && !el.paused) {
        el.pause();
      }
    }
    if (this.playing) {
      if (waiting.length && !this.stalled) {
        // Hold the clock until what should be playing can play.
        this.setClock(pos);
        this.stalled = true;
        for (const item of this.items) if (!item.el.paused) item.el.pause();
        this.showState('Loading…');
      } else if (!waiting.length && this.stalled) {
        this.stalled = false;
        this.setClock(pos);
        this.showState('');
        this.sync(false);
        return;
      }
    }
    pos = this.position();
    for (const g of this.groups) {
      const items = this.items.filter((i) => i.group === g);
      const video = items.some((i) => i.active && i.file.kind === 'video');
      const any = items.some((i) => i.active);
      g.el.classList.toggle('no-video', !video);
      const before = items.every((i) => pos < i.file.startOffsetMs);
      const text = any ? '' : before ? 'Not connected yet' : 'Left the call';
      g.status.textContent = text;
      g.status.hidden = !text;
    }
    this.update();
  }

  update() {
    this.seek.max = String(Math.round(this.length));
    const pos = this.position();
    if (!this.dragging) {
      this.seek.value = String(Math.round(pos));
      this.showTime(pos);
    }
    this.drawMarkersIfLengthChanged();
  }

  drawMarkersIfLengthChanged() {
    if (this.drawnFor === this.length) return;
    this.drawnFor = this.length;
    this.drawMarkers();
  }

  showTime(pos) {
    this.timeLabel.textContent = `${clock(pos)} / ${clock(this.length)}`;
    this.seek.setAttribute('aria-valuetext', `${spokenPosition(pos)} of ${spokenPosition(this.length)}`);
  }

  showState(text) {
    this.stateEl.textContent = text;
  }

  // snapshot describes the player for tests: the clock, and each element
  // with where it is and where the clock says it should be.
  snapshot() {
    const pos = this.position();
    return {
      playing: this.playing,
      stalled: this.stalled,
      positionMs: pos,
      lengthMs: this.length,
      corrections: this.corrections,
      elements: this.items.map((i) => {
        const t = fileTime(i.file, pos);
        return {
          name: i.file.name,
          kind: i.file.kind,
          currentTime: i.el.currentTime,
          expected: t,
          paused: i.el.paused,
          readyState: i.el.readyState,
          videoWidth: i.file.kind === 'video' ? i.el.videoWidth : 0,
        };
      }),
    };
  }

  destroy() {
    clearInterval(this.timer);
    for (const off of this.listeners) off();
    for (const i of this.items) {
      i.el.pause();
      i.el.removeAttribute('src');
      i.el.load(); // stops any download
    }
    this.stage.replaceChildren();
    this.markersEl.replaceChildren();
    this.playButton.textContent = 'Play';
    this.showState('');
  }
}
