// The monitoring wall, for security officers: every live call of their
// prison that may be monitored (GET /api/v1/monitor/calls, every few
// seconds) with its participants, time left, connection quality and
// recording state; watching one or several calls as a hidden subscriber
// (monitor-watch.js); pausing, muting and ending with a reason; and the
// recordings of finished calls (recordings.js).
//
// Time left counts down from the list's secondsLeft, measured on the
// server's clock, so that a wrong clock on this computer does not matter.
//
// Hooks for automated browser tests:
//   window.gatehouseMonitor.calls()     [{bookingId, reference, watching,
//                                        recording, participants: [{id,
//                                        name, videoPaused, muted}]}]
//   window.gatehouseMonitor.watching()  {bookingId: WatchSession.snapshot()}
//   window.gatehouseMonitor.refresh()   Promise: reload the list now
//   window.gatehouseMonitor.playback()  the recording player's snapshot, or
//                                       null

import { api } from './api.js';
import { h } from './dom.js';
import { staffSignIn } from './signin.js';
import { countdown, spokenDuration, zonedTime } from './time.js';
import { askReason, closeReasonDialog } from './reason-dialog.js';
import { explain } from './problems.js';
import { WatchSession, moderationNote } from './monitor-watch.js';
import { RecordingsView } from './recordings.js';

const $ = (id) => document.getElementById(id);

// REFRESH_MS: how often the list of live calls is reloaded.
const REFRESH_MS = 4000;
// MONITOR_ROLES may use this page (the API has the last word).
const MONITOR_ROLES = new Set(['security', 'admin']);

const CALL_TYPE_NAMES = { social: 'Social visit', legal: 'Legal call', probation: 'Probation appointment' };
const ROLE_NAMES = { prisoner: 'Prisoner', visitor: 'Visitor', legal: 'Legal adviser', probation: 'Probation officer' };
const QUALITY_NAMES = { good: 'Good connection', fair: 'Fair connection', poor: 'Poor connection' };
const VIDEO_ONLY_TEXT = 'In sight, out of hearing: video only. You cannot hear this call.';

// What each staff action does, in words for the reason dialog and after.
const ACTIONS = {
  pause_video: {
    button: 'Pause video',
    title: (n) => `Pause ${n}'s video`,
    summary: (n) => `The others in the call stop seeing ${n}. Everyone in the call sees "Video paused by staff".`,
    done: (n) => `${n}'s video is paused.`,
  },
  resume_video: {
    button: 'Resume video',
    title: (n) => `Resume ${n}'s video`,
    summary: (n) => `The others in the call see ${n} again.`,
    done: (n) => `${n}'s video is back on.`,
  },
  mute: {
    button: 'Mute',
    title: (n) => `Mute ${n}`,
    summary: (n) => `The others in the call stop hearing ${n}. Everyone in the call sees "Muted by staff".`,
    done: (n) => `${n} is muted.`,
  },
  unmute: {
    button: 'Unmute',
    title: (n) => `Unmute ${n}`,
    summary: (n) => `The others in the call hear ${n} again.`,
    done: (n) => `${n} can be heard again.`,
  },
};

const cards = new Map(); // bookingId -> CallCard
let refreshTimer = 0;
let tickTimer = 0;
let refreshing = null; // the refresh under way (a promise), or null
let listedOnce = false; // the first list is not announced call by call
let active = false; // signed in with a role that may use the wall

function say(text) {
  $('status').textContent = text;
}

function showError(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

function personName(p) {
  return (p && p.name) || 'Someone';
}

function callTitle(call) {
  const type = CALL_TYPE_NAMES[call.callType] || call.callType || 'Call';
  const prisoner = call.prisoner || {};
  const who = prisoner.name ? ` – ${prisoner.name}${prisoner.number ? ` (${prisoner.number})` : ''}` : '';
  return `${type}${who}`;
}

// label builds a button's contents: visible text and, for screen readers,
// whose it is; setLabel changes the visible text in place (the button
// keeps its focus).
function label(text, whose) {
  return [document.createTextNode(text), h('span', { class: 'visually-hidden' }, whose ? ` – ${whose}` : '')];
}

function setLabel(button, text, whose) {
  button.firstChild.data = text;
  button.lastChild.textContent = whose ? ` – ${whose}` : '';
}

// --- one call on the wall -------------------------------------------------

class CallCard {
  constructor(call) {
    this.id = call.bookingId;
    this.call = call;
    this.deadline = 0; // performance.now() at which the call ends
    this.rows = new Map(); // participant id -> row elements
    this.session = null;
    this.alarmShown = '';
    const titleId = `call-${this.id}-title`;
    this.titleEl = h('h3', { id: titleId, class: 'wall-title' });
    this.meta = h('p', { class: 'wall-meta' });
    this.timeLeft = h('span', { class: 'countdown-inline' });
    this.timeSpoken = h('span', { class: 'visually-hidden' });
    this.recording = h('span', { class: 'rec-state' });
    this.alarmBox = h('div', { class: 'wall-alarm-box' });
    this.notices = h('ul', { class: 'wall-notices' });
    this.error = h('p', { class: 'notice notice-error', role: 'alert', hidden: true });
    this.watchState = h('p', { class: 'watch-state' });
    this.tilesEl = h('div', { class: 'tiles wall-tiles', 'aria-label': 'Video of the call' });
    this.soundButton = h('button', {
      type: 'button', class: 'button button-small', 'aria-pressed': 'true',
      onclick: () => this.toggleSound(),
    }, 'Sound on');
    this.watchArea = h('div', { class: 'watch', hidden: true },
      h('div', { class: 'watch-bar' }, this.watchState, this.soundButton),
      this.tilesEl);
    this.people = h('ul', { class: 'people', 'aria-label': 'People in the call' });
    this.watchButton = h('button', { type: 'button', class: 'button button-primary', onclick: () => this.toggleWatch() },
      ...label('Watch', ''));
    this.endButton = h('button', { type: 'button', class: 'button button-danger', onclick: () => this.endCall() },
      ...label('End call', ''));
    this.el = h('li', { class: 'wall-card', 'data-booking': String(this.id) },
      h('article', { 'aria-labelledby': titleId },
        h('div', { class: 'wall-head' },
          this.titleEl,
          h('p', { class: 'wall-time' }, 'Time left ', h('span', { 'aria-hidden': 'true' }, this.timeLeft), this.timeSpoken)),
        this.meta,
        h('p', { class: 'wall-rec' }, this.recording),
        this.alarmBox,
        this.notices,
        this.error,
        this.watchArea,
        this.people,
        h('div', { class: 'wall-actions' }, this.watchButton, this.endButton)));
    this.update(call, performance.now());
  }

  get reference() {
    return this.call.reference || `#${this.id}`;
  }

  update(call, receivedAt) {
    this.call = call;
    this.titleEl.textContent = callTitle(call);
    const when = call.startsAt && call.endsAt ? `${zonedTime(call.startsAt)}–${zonedTime(call.endsAt)} UK time` : '';
    this.meta.textContent = [`Call ${this.reference}`, when].filter(Boolean).join(' · ');
    const left = Number(call.secondsLeft);
    this.deadline = Number.isFinite(left) ? receivedAt + left * 1000
      : receivedAt + (Date.parse(call.endsAt) - Date.now());
    this.tick();
    this.showRecording(call);
    this.showNotices(call);
    this.showPeople(call.participants || []);
    setLabel(this.watchButton, this.session ? 'Stop watching' : 'Watch', `call ${this.reference}`);
    setLabel(this.endButton, 'End call', `call ${this.reference}`);
  }

  tick() {
    const left = this.deadline - performance.now();
    this.timeLeft.textContent = left > 0 ? countdown(left) : 'ending';
    this.timeLeft.classList.toggle('soon', left <= 5 * 60000);
    this.timeSpoken.textContent = left > 0 ? spokenDuration(left) : 'ending now';
  }

  showRecording(call) {
    const state = call.recording || 'off';
    const text = { recording: 'Recording', failed: 'Recording failed', off: 'Not recorded' }[state] || state;
    this.recording.textContent = text;
    this.recording.dataset.state = state;
    this.el.classList.toggle('alarm', state === 'failed');
    // A failure is an alarm: a new role=alert element, so that it is read
    // out, once per failure message.
    const alarm = state === 'failed'
      ? `Recording failed on call ${this.reference}${call.recordingError ? `: ${call.recordingError}` : ''}. This call is not being recorded.`
      : '';
    if (alarm === this.alarmShown) return;
    this.alarmShown = alarm;
    this.alarmBox.replaceChildren(...(alarm ? [h('p', { class: 'wall-alarm', role: 'alert' }, alarm)] : []));
  }

  showNotices(call) {
    const items = [];
    if (call.sightOnly) items.push(VIDEO_ONLY_TEXT);
    if (call.oneWayVideo) items.push('One-way video: the visitors do not see the prisoner.');
    this.notices.replaceChildren(...items.map((t) => h('li', {}, t)));
    this.notices.hidden = items.length === 0;
  }

  showPeople(list) {
    const seen = new Set();
    for (const p of list) {
      if (!p || !p.id) continue;
      seen.add(p.id);
      let row = this.rows.get(p.id);
      if (!row) {
        row = this.newRow(p);
        this.rows.set(p.id, row);
        this.people.append(row.el);
      }
      this.fillRow(row, p);
    }
    for (const [pid, row] of this.rows) {
      if (!seen.has(pid)) {
        row.el.remove();
        this.rows.delete(pid);
      }
    }
  }

  newRow(p) {
    const row = {
      p,
      name: h('strong', {}),
      role: h('span', { class: 'muted' }),
      conn: h('span', { class: 'person-conn' }),
      quality: h('span', { class: 'person-quality' }),
      mod: h('span', { class: 'person-mod' }),
      video: h('button', { type: 'button', class: 'button button-small', onclick: () => this.act(row, row.videoAction) },
        ...label('Pause video', '')),
      audio: h('button', { type: 'button', class: 'button button-small', onclick: () => this.act(row, row.audioAction) },
        ...label('Mute', '')),
    };
    row.el = h('li', { class: 'person', 'data-participant': p.id },
      h('p', { class: 'person-who' }, row.name, ' ', row.role),
      h('p', { class: 'person-state' }, row.conn, row.quality, row.mod),
      h('div', { class: 'person-actions' }, row.video, row.audio));
    return row;
  }

  fillRow(row, p) {
    row.p = p;
    const name = personName(p);
    row.name.textContent = name;
    row.role.textContent = ROLE_NAMES[p.role] || p.role || '';
    row.conn.textContent = p.connected ? 'Connected' : 'Not connected';
    row.conn.dataset.connected = String(!!p.connected);
    row.quality.textContent = p.connected && QUALITY_NAMES[p.quality] ? QUALITY_NAMES[p.quality] : '';
    row.quality.dataset.level = p.quality || '';
    const note = moderationNote(p);
    row.mod.textContent = note;
    row.mod.hidden = !note;
    row.videoAction = p.videoPaused ? 'resume_video' : 'pause_video';
    row.audioAction = p.muted ? 'unmute' : 'mute';
    row.video.dataset.action = row.videoAction;
    row.audio.dataset.action = row.audioAction;
    setLabel(row.video, ACTIONS[row.videoAction].button, name);
    setLabel(row.audio, ACTIONS[row.audioAction].button, name);
    // Staff never hear a legal call under video-only supervision, so they
    // have nothing to mute anyone for.
    row.audio.hidden = !!this.call.sightOnly && !p.muted;
  }

  // act asks for a reason, then pauses, resumes, mutes or unmutes a
  // participant.
  async act(row, action) {
    const name = personName(row.p);
    const a = ACTIONS[action];
    const done = await askReason({
      title: a.title(name),
      summary: a.summary(name),
      confirm: a.button,
      submit: (reason) => api.staffAction(this.id, action, row.p.id, reason),
    });
    if (!done) return;
    say(a.done(name));
    // Show the new state at once, whatever the next list says.
    this.fillRow(row, { ...row.p, videoPaused: action === 'pause_video' ? true : action === 'resume_video' ? false : row.p.videoPaused,
      muted: action === 'mute' ? true : action === 'unmute' ? false : row.p.muted });
    refresh();
  }

  async endCall() {
    const done = await askReason({
      title: `End call ${this.reference}`,
      summary: 'Everyone in the call is disconnected at once and told that staff ended it. The booking is recorded as ended by staff.',
      confirm: 'End call',
      danger: true,
      submit: (reason) => api.staffAction(this.id, 'end', '', reason),
    });
    if (!done) return;
    say(`Call ${this.reference} ended.`);
    refresh();
  }

  // --- watching

  toggleWatch() {
    if (this.session) {
      this.session.stop();
      return;
    }
    showError(this.error, '');
    const session = new WatchSession({
      bookingId: this.id,
      container: this.tilesEl,
      nameOf: (pid) => {
        const row = this.rows.get(pid);
        return row ? personName(row.p) : '';
      },
      onChange: (state) => this.watchChanged(session, state),
      onMessage: (text) => say(text),
    });
    this.session = session;
    this.watchArea.hidden = false;
    this.el.classList.add('watching');
    setLabel(this.watchButton, 'Stop watching', `call ${this.reference}`);
    session.start();
  }

  watchChanged(session, state) {
    if (session !== this.session) return;
    const videoOnly = session.videoOnly;
    this.soundButton.hidden = videoOnly || state !== 'watching';
    if (state === 'connecting') {
      this.watchState.textContent = 'Connecting…';
    } else if (state === 'watching') {
      this.watchState.textContent = videoOnly ? VIDEO_ONLY_TEXT : 'Watching and listening. The people in the call cannot see that you are here.';
      say(`Watching call ${this.reference}.${videoOnly ? ' Video only.' : ''}`);
    } else if (state === 'reconnecting') {
      this.watchState.textContent = 'Connection lost. Reconnecting…';
    } else {
      // ended or failed: back to the list view of this call.
      this.session = null;
      this.watchArea.hidden = true;
      this.el.classList.remove('watching');
      setLabel(this.watchButton, 'Watch', `call ${this.reference}`);
      if (state === 'failed') showError(this.error, session.detail);
      else say(`Stopped watching call ${this.reference}.${session.detail ? ` ${session.detail}` : ''}`);
    }
  }

  toggleSound() {
    if (!this.session) return;
    const on = this.soundButton.getAttribute('aria-pressed') !== 'true';
    this.session.setSound(on);
    this.soundButton.setAttribute('aria-pressed', String(on));
    this.soundButton.textContent = on ? 'Sound on' : 'Sound off';
    say(on ? `Sound of call ${this.reference} on.` : `Sound of call ${this.reference} off.`);
  }

  destroy() {
    if (this.session) this.session.stop();
    this.el.remove();
  }

  describe() {
    return {
      bookingId: this.id,
      reference: this.call.reference || '',
      watching: !!this.session,
      recording: this.call.recording || 'off',
      participants: [...this.rows.values()].map((r) => ({
        id: r.p.id, name: r.p.name || '', videoPaused: !!r.p.videoPaused, muted: !!r.p.muted,
      })),
    };
  }
}

// --- the list -------------------------------------------------------------

function refresh() {
  if (!active) return Promise.resolve();
  if (!refreshing) {
    refreshing = load().finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function load() {
  let calls;
  try {
    calls = await api.monitorCalls();
  } catch (err) {
    if (err.status !== 401) showError($('live-error'), `Could not load the live calls. ${explain(err)}`);
    return;
  }
  if (!active) return;
  showError($('live-error'), '');
  render(calls, performance.now());
  $('live-updated').textContent = `Updated ${new Date().toLocaleTimeString('en-GB')}`;
}

function render(calls, at) {
  const seen = new Set();
  const added = [];
  for (const call of calls) {
    if (!call || call.bookingId === undefined) continue;
    seen.add(call.bookingId);
    const card = cards.get(call.bookingId);
    if (card) {
      card.update(call, at);
    } else {
      const c = new CallCard(call);
      cards.set(call.bookingId, c);
      $('calls').append(c.el);
      added.push(c);
    }
  }
  const gone = [];
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      gone.push(card);
      card.destroy();
      cards.delete(id);
    }
  }
  $('calls-empty').hidden = cards.size > 0;
  if (listedOnce) {
    const said = [];
    for (const c of added) said.push(`New call on the wall: ${callTitle(c.call)}.`);
    for (const c of gone) said.push(`Call ${c.reference} is no longer live.`);
    if (said.length) say(said.join(' '));
  } else {
    say(cards.size === 1 ? '1 call in progress.' : `${cards.size} calls in progress.`);
  }
  listedOnce = true;
  const failing = [...cards.values()].some((c) => c.call.recording === 'failed');
  document.title = `${failing ? 'Recording failed – ' : ''}Monitoring wall – Gatehouse staff`;
}

function startWall() {
  stopWall();
  active = true;
  listedOnce = false;
  refreshTimer = setInterval(refresh, REFRESH_MS);
  tickTimer = setInterval(() => { for (const c of cards.values()) c.tick(); }, 1000);
  return refresh();
}

function stopWall() {
  active = false;
  clearInterval(refreshTimer);
  clearInterval(tickTimer);
  for (const c of cards.values()) c.destroy();
  cards.clear();
}

// --- views (by the address's fragment) ------------------------------------

const recordings = new RecordingsView({ announce: say });

function route() {
  if (!active) return;
  const hash = window.location.hash.replace(/^#/, '');
  const m = /^recording=(\d+)$/.exec(hash);
  const view = m ? 'recording' : hash === 'recordings' ? 'recordings' : 'live';
  $('live-view').hidden = view !== 'live';
  $('recordings-view').hidden = view !== 'recordings';
  $('recording-view').hidden = view !== 'recording';
  const current = view === 'live' ? $('tab-live') : $('tab-recordings');
  for (const tab of [$('tab-live'), $('tab-recordings')]) {
    if (tab === current) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  if (view !== 'recording') recordings.close();
  if (view === 'recordings') recordings.showList();
  else if (view === 'recording') recordings.showOne(Number(m[1]));
}

// --- wiring -----------------------------------------------------------------

const signIn = staffSignIn({
  pageTitle: 'Monitoring wall – Gatehouse staff',
  onSignedIn: async (staff) => {
    const allowed = MONITOR_ROLES.has(staff.role);
    $('role-problem').hidden = allowed;
    for (const id of ['live-view', 'recordings-view', 'recording-view']) $(id).hidden = true;
    document.querySelector('.view-switch').hidden = !allowed;
    if (!allowed) return;
    recordings.setStaff(staff);
    await startWall();
    route();
    $('app-title').focus();
  },
  onSignedOut: () => {
    closeReasonDialog();
    recordings.close();
    stopWall();
  },
});

window.addEventListener('hashchange', route);
window.addEventListener('pagehide', () => {
  for (const c of cards.values()) if (c.session) c.session.stop();
});

window.gatehouseMonitor = {
  calls: () => [...cards.values()].map((c) => c.describe()),
  watching: () => Object.fromEntries([...cards.values()].filter((c) => c.session).map((c) => [c.id, c.session.snapshot()])),
  refresh: () => refresh(),
  playback: () => recordings.snapshot(),
};

signIn.start();
