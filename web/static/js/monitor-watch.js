// Watching one call from the monitoring wall: a hidden subscriber.
//
// The booking API issues a short-lived monitor token (POST
// /api/v1/monitor/calls/{id}/watch); with it the page joins /ws like a
// participant (signalling/PROTOCOL.md) and the server admits it as a
// monitor: it is in nobody's participant list, and it only ever answers the
// server's subscriber offers. This page never creates a publisher
// connection, never asks for the camera or microphone and never sends an
// offer. The received tracks go into tiles as on the join page; for video-
// only supervision ("in sight, out of hearing") the tiles have no audio
// element at all, and any audio track is dropped unplayed.

import { api } from './api.js';
import { Signal } from './signal.js';
import { CallMedia } from './call.js';
import { Tiles } from './tiles.js';
import { explain } from './problems.js';

// A lost socket is redialled with a fresh token after these delays (ms);
// after the last the watch gives up.
const REDIAL_MS = [1000, 2000, 4000];
// DISCONNECTED_PATIENCE_MS: how long the subscriber connection may stay
// 'disconnected' before it is ICE-restarted; RESTART_INTERVAL_MS keeps
// restarts apart (the server honours one a second).
const DISCONNECTED_PATIENCE_MS = 2000;
const RESTART_INTERVAL_MS = 3000;

const MODERATION_NOTES = {
  both: 'Video paused and muted by staff',
  video: 'Video paused by staff',
  audio: 'Muted by staff',
};

// Signalling refusals a monitor may meet, in words for security staff.
const REFUSALS = {
  legal_privilege: 'Legal calls are privileged and cannot be monitored.',
  call_ended: 'The call has ended.',
  booking_cancelled: 'The call is no longer going ahead.',
  token_expired: 'The permission to watch ran out before the connection was made. Try again.',
  token_invalid: 'The server did not accept the permission to watch. Try again.',
  too_early: 'The call has not opened yet.',
};

// Why a watch ended (the `ended` message's reason), in words.
const ENDED = {
  staff: 'The call was ended by staff.',
  time: 'The call reached its end time.',
  cancelled: 'The call was cancelled.',
  shutdown: 'The video service is restarting.',
  privilege: 'Video-only supervision of this legal call was withdrawn: it is privileged again and cannot be monitored.',
};

export function moderationNote(p) {
  if (p.videoPaused && p.muted) return MODERATION_NOTES.both;
  if (p.videoPaused) return MODERATION_NOTES.video;
  if (p.muted) return MODERATION_NOTES.audio;
  return '';
}

// wsURL turns the API's wsUrl ("/ws") into a WebSocket address on this
// page's origin.
function wsURL(path) {
  const u = new URL(path || '/ws', window.location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

// WatchSession shows one call's media in container.
//   bookingId      the call
//   container      the element the tiles go in
//   nameOf(pid)    a participant's display name (from the wall's list)
//   onChange(s)    told of every state change: s is 'connecting',
//                  'watching', 'reconnecting', 'ended' or 'failed'
//   onMessage(t)   a sentence for the page to announce
export class WatchSession {
  constructor({ bookingId, container, nameOf, onChange, onMessage }) {
    this.bookingId = bookingId;
    this.container = container;
    this.names = new Map(); // pid -> name, from the welcome and joins
    this.nameOf = (pid) => this.names.get(pid) || nameOf(pid) || 'Someone';
    this.onChange = onChange || (() => {});
    this.onMessage = onMessage || (() => {});
    this.state = 'connecting';
    this.detail = ''; // why it ended or failed, in words
    this.videoOnly = false;
    this.soundOn = true;
    this.signal = null;
    this.media = null;
    this.tiles = null;
    this.stopped = false;
    this.welcomed = false;
    this.redials = 0;
    this.clockOffset = 0;
    this.troubleSince = 0;
    this.lastRestart = 0;
    this.watchdog = 0;
  }

  // start asks for a monitor token and connects. A refusal (a legal call,
  // no permission) ends the session with the API's reason.
  async start() {
    this.setState('connecting');
    const grant = await this.requestGrant();
    if (!grant) return;
    this.videoOnly = !!grant.videoOnly;
    this.connect(grant);
  }

  // requestGrant asks the booking API for a monitor token ({token, wsUrl,
  // videoOnly}); on a refusal it ends the session and returns null.
  async requestGrant() {
    let grant;
    try {
      grant = await api.watch(this.bookingId);
    } catch (err) {
      this.fail(explain(err));
      return null;
    }
    if (this.stopped) return null;
    if (!grant || !grant.token) {
      this.fail('The server did not give a permission to watch this call.');
      return null;
    }
    return grant;
  }

  connect(grant) {
    this.welcomed = false;
    const s = new Signal({
      url: wsURL(grant.wsUrl),
      token: grant.token,
      onMessage: (msg) => { if (s === this.signal) this.handle(msg); },
      onClose: (ev, info) => { if (s === this.signal) this.closed(info); },
    });
    this.signal = s;
    s.open();
  }

  send(msg) {
    return this.signal ? this.signal.send(msg) : false;
  }

  setState(state, detail = '') {
    this.state = state;
    this.detail = detail;
    this.onChange(state);
  }

  handle(msg) {
    switch (msg.type) {
      case 'welcome': return this.onWelcome(msg);
      case 'offer': if (this.media) this.media.handleOffer(msg.sdp); return undefined;
      case 'candidate': if (this.media) this.media.handleCandidate(msg.target, msg.candidate); return undefined;
      case 'iceServers': if (this.media && Array.isArray(msg.iceServers)) this.media.setIceServers(msg.iceServers); return undefined;
      case 'participantJoined': return this.onJoined(msg.participant);
      case 'participantLeft': return this.onLeft(msg.participantId);
      case 'participantState': return this.onParticipantState(msg);
      case 'moderation': return this.onModeration(msg);
      case 'speakers': return this.onSpeakers(msg.speakers);
      case 'ended': return this.onEnded(msg.reason);
      case 'error': return this.onError(msg);
      case 'pong': return this.onPong(msg);
      default: return undefined; // state, warning, stats, layers: nothing to do
    }
  }

  onWelcome(msg) {
    const me = msg.participant || {};
    if (me.role !== 'monitor') {
      // Never take part in a call as anything but a hidden subscriber.
      this.fail('The server did not admit this page as a monitor, so it left the call.');
      return;
    }
    this.welcomed = true;
    this.redials = 0;
    if (msg.monitor && typeof msg.monitor.videoOnly === 'boolean') this.videoOnly = msg.monitor.videoOnly;
    this.onPong(msg);
    for (const p of msg.participants || []) {
      if (p && p.id) this.names.set(p.id, p.name || '');
    }
    this.closeMedia();
    this.tiles = new Tiles({
      container: this.container,
      nameOf: this.nameOf,
      audio: !this.videoOnly,
      onSoundBlocked: () => this.onMessage('The browser blocked the sound. Press "Sound on" to hear the call.'),
    });
    this.tiles.setSound(this.soundOn);
    for (const p of msg.participants || []) {
      if (p && p.id && p.state === 'reconnecting') this.tiles.setStatus(p.id, 'Reconnecting…');
    }
    this.media = new CallMedia({
      iceServers: Array.isArray(msg.iceServers) ? msg.iceServers : [],
      send: (m) => this.send(m),
      onRemoteTrack: (pid, track, stream) => {
        if (this.videoOnly && track.kind === 'audio') return; // never played
        this.tiles.add(pid, track, stream);
      },
      onConnectionState: () => this.checkMedia(),
    });
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => this.checkMedia(), 1000);
    this.setState('watching');
  }

  onJoined(p) {
    if (!p || !p.id) return;
    this.names.set(p.id, p.name || '');
    if (this.tiles) this.tiles.rename(p.id);
  }

  onLeft(pid) {
    if (this.tiles) {
      this.tiles.setStatus(pid, '');
      this.tiles.setNote(pid, '');
      this.tiles.remove(pid);
    }
  }

  onParticipantState(msg) {
    if (this.tiles && msg.participantId) {
      this.tiles.setStatus(msg.participantId, msg.state === 'reconnecting' ? 'Reconnecting…' : '');
    }
  }

  onModeration(msg) {
    if (this.tiles && msg.participantId) this.tiles.setNote(msg.participantId, moderationNote(msg));
  }

  onSpeakers(list) {
    if (!this.tiles) return;
    const first = Array.isArray(list) && list[0];
    this.tiles.setSpeaking(first && typeof first.participantId === 'string' ? first.participantId : '');
  }

  onPong(msg) {
    const st = Date.parse(msg.serverTime);
    if (!Number.isNaN(st)) this.clockOffset = st - Date.now();
  }

  onEnded(reason) {
    this.finish('ended', ENDED[reason] || 'The call has ended.');
  }

  onError(msg) {
    if (!msg.fatal) {
      console.warn('gatehouse: monitor: server error', msg.code, msg.message);
      return;
    }
    this.fail(REFUSALS[msg.code] || msg.message || 'The server closed the connection.');
  }

  // checkMedia ICE-restarts the subscriber connection when it failed, or
  // stayed disconnected, while the socket is up.
  checkMedia() {
    if (!this.media || !this.welcomed || this.stopped) return;
    const st = this.media.connectionStates().sub;
    const now = Date.now();
    if (st !== 'failed' && st !== 'disconnected') {
      this.troubleSince = 0;
      return;
    }
    if (!this.troubleSince) this.troubleSince = now;
    const patience = st === 'failed' ? 0 : DISCONNECTED_PATIENCE_MS;
    if (now - this.troubleSince < patience || now - this.lastRestart < RESTART_INTERVAL_MS) return;
    this.lastRestart = now;
    this.send({ type: 'restart', target: 'sub' });
  }

  // closed handles a socket gone without `ended`: redial with a fresh
  // token (a new media session; a monitor has nothing to resume).
  closed({ byClient }) {
    this.signal = null;
    if (byClient || this.stopped) return;
    this.closeMedia();
    if (this.redials >= REDIAL_MS.length) {
      this.fail('The connection to the call was lost.');
      return;
    }
    const delay = REDIAL_MS[this.redials];
    this.redials += 1;
    this.setState('reconnecting');
    setTimeout(async () => {
      if (this.stopped) return;
      const grant = await this.requestGrant();
      if (grant) this.connect(grant);
    }, delay);
  }

  // setSound turns the call's sound on or off on this page only.
  setSound(on) {
    this.soundOn = !!on;
    if (this.tiles) this.tiles.setSound(this.soundOn);
  }

  fail(text) {
    this.finish('failed', text);
  }

  finish(state, text) {
    if (this.stopped) return;
    this.stopped = true;
    this.closeSocket();
    this.closeMedia();
    this.setState(state, text);
  }

  // stop leaves the call (the person stopped watching).
  stop() {
    if (this.stopped) return;
    this.send({ type: 'leave' });
    this.finish('ended', '');
  }

  closeSocket() {
    const s = this.signal;
    this.signal = null;
    if (s) s.close();
  }

  closeMedia() {
    clearInterval(this.watchdog);
    if (this.media) this.media.close();
    this.media = null;
    if (this.tiles) this.tiles.clear();
    this.tiles = null;
  }

  // snapshot describes what the page shows, for tests: the state, whether
  // it is video only, and per tile the video's size and position and
  // whether it has an audio element playing something.
  snapshot() {
    const tiles = [];
    if (this.tiles) {
      for (const pid of this.tiles.ids()) {
        const t = this.tiles.tiles.get(pid);
        tiles.push({
          participantId: pid,
          name: this.nameOf(pid),
          videoWidth: t.video.videoWidth,
          videoHeight: t.video.videoHeight,
          currentTime: t.video.currentTime,
          audio: !!(t.audio && t.audio.srcObject),
          note: t.note.textContent,
        });
      }
    }
    return { state: this.state, detail: this.detail, videoOnly: this.videoOnly, tiles };
  }
}
