// The join page: device check -> waiting room -> call -> end, driven by the
// signalling protocol (signalling/PROTOCOL.md). The join token is read from
// the URL fragment (#token=...), which browsers never send to the server.
//
// Hooks for automated browser tests:
//   window.gatehouse.state()  'preview' | 'waiting' | 'live' | 'ended' | 'error'
//   window.gatehouse.join()   the same as pressing the Join button (id "join")
//   window.gatehouse.stats()  Promise of {framesDecoded, packetsReceived,
//                             remoteParticipants}: video inbound-rtp totals of
//                             the subscriber connection, and how many other
//                             participants are present (by signalling or by
//                             received media).
//   window.gatehouse.path()   Promise of the media path, {kind: 'direct' |
//                             'relay', type, protocol, relayProtocol}, or null
//   window.gatehouse.paths()  Promise of {pub, sub}: each connection's path
//   window.gatehouse.forceRelay(t)  before joining: use only the relay, over
//                             't' ('udp', 'tcp', 'tls' or 'any'). It narrows
//                             this page's own choices and nothing else, so it
//                             needs no server-side test mode.
//   window.gatehouse.connection()   'connected' | 'reconnecting'
//   window.gatehouse.participantStates()  {participantId: 'connected' |
//                             'reconnecting'} of the others
//   window.gatehouse.dropConnection(holdMs)  give the signalling socket up as
//                             if the network had dropped it (no leave), and
//                             redial no sooner than holdMs later: the page
//                             then resumes (PROTOCOL.md, Reconnection)
//   window.gatehouse.resumes()  how many times the page resumed its media
//                             session (welcome with resumed: true)
//   window.gatehouse.connectionStates()  {pub, sub}: each peer connection's
//                             connectionState, or null
//   window.gatehouse.publishing()  Promise of the camera sender:
//                             {encodings: [{rid, active, maxBitrate,
//                             scaleResolutionDownBy}], serverActive (the
//                             rids of the last `layers` message, or null),
//                             codec, outbound: [{rid, bytesSent,
//                             framesEncoded, frameWidth, frameHeight, ...}],
//                             availableOutgoingBitrate (the browser's uplink
//                             estimate, bit/s)}
//   window.gatehouse.mediaStats()  the last `stats` message, or null
//   window.gatehouse.connectionQuality()  {level: 'good' | 'fair' | 'poor' |
//                             'unknown' (shown), measured (the last report's)}
//   window.gatehouse.receivedLayers()  Promise of {participantId: {layer (the
//                             server's, from `stats`), frameWidth,
//                             frameHeight, framesDecoded}}
//   window.gatehouse.speakers()  the last `speakers` list [{participantId,
//                             level}], loudest first
//   window.gatehouse.activeSpeaker()  {loudest ('self', a participant id or
//                             ''), featured (the large tile's id or '')}
//   window.gatehouse.qualityRequests()  {participantId: layer} sent
//   window.gatehouse.setQuality(pid, layer)  ask for at most layer ('q', 'h',
//                             'f' or 'none') of pid's video whatever the
//                             tile size; null: back to the tile size
//   window.gatehouse.transports()  Promise of {pub, sub}: each connection's
//                             {srtpCipher, dtlsCipher, tlsVersion, dtlsState,
//                             dtlsRole ('client': the server chose the SRTP
//                             profile)}
//   window.gatehouse.moderation()  {participantId: {videoPaused, muted}}: what
//                             staff have paused or muted (ourselves included)

import { Signal, signallingURL } from './signal.js';
import { CallMedia, describePath } from './call.js';
import { Devices } from './devices.js';
import { Tiles } from './tiles.js';
import { QualityRequests } from './quality.js';
import { ActiveSpeaker } from './speakers.js';
import { ConnectionIndicator } from './netstats.js';
import { errorInfo, endedText, canRejoin } from './messages.js';
import { countdown, spokenDuration, localTimeOf, localDateOf } from './time.js';

const $ = (id) => document.getElementById(id);

// Reconnect after an unexpected close (PROTOCOL.md, Reconnection): redial
// after these delays in ms (the last repeats), asking to resume our media
// session; give up RECONNECT_GIVE_UP_MS after the loss. Within the server's
// 20 s grace the call resumes as it was; after it, the server starts a new
// media session and we rebuild ours.
const RECONNECT_DELAYS = [250, 500, 1000, 2000];
const RECONNECT_GIVE_UP_MS = 60000;

// Media recovery while the socket works: a connection 'disconnected' this
// long, or 'failed', gets an ICE restart; the next restart of the same
// trouble waits RESTART_BACKOFF_MS, doubling up to RESTART_BACKOFF_MAX_MS
// (a restart still connecting by then is tried again: its checks may have
// run out while the network was down). A first connection still connecting
// is left alone however long it takes (a relay over TLS on a slow machine):
// a restart would throw its checks away.
const DISCONNECTED_PATIENCE_MS = 2000;
const RESTART_BACKOFF_MS = 3000;
const RESTART_BACKOFF_MAX_MS = 8000;

const screens = {
  preview: $('screen-preview'),
  waiting: $('screen-waiting'),
  live: $('screen-call'),
  ended: $('screen-ended'),
  error: $('screen-error'),
};
const titles = {
  preview: 'Join your visit',
  waiting: 'Waiting room',
  live: 'In your visit',
  ended: 'Visit ended',
  error: 'Could not connect',
};

// --- page state -----------------------------------------------------------

let state = 'preview'; // 'preview' | 'waiting' | 'live' | 'ended' | 'error'
let joinRequested = false;
let signal = null;
let media = null;
let call = null; // welcome.call, kept up to date by `state` and `warning`
let me = null;
let iceServers = []; // from welcome
let clockOffset = 0; // server time minus local time, ms
let finished = false; // `ended` or a fatal error arrived: do not reconnect
let welcomed = false; // this socket got `welcome`
let reconnects = 0;
let lostAt = 0; // when the socket was lost (Date.now()); 0 while connected
let connection = 'connected'; // 'connected' | 'reconnecting' (ourselves)
let resumes = 0; // welcomes with resumed: true
let redialNotBefore = 0; // dropConnection(holdMs): Date.now() before which not to redial
// The media watchdog's memory: trouble since when, the last restart, and
// which connections have been connected at least once.
const mediaWatch = { troubleSince: 0, lastTry: 0, tries: 0, probing: false, seen: { pub: false, sub: false } };
let devicesStarted = false; // the camera/microphone request has settled
let relayOnly = ''; // forceRelay(): '' (any path) or the relay transport to use
let shownPath = ''; // the path text on the call screen
const participants = new Map(); // id -> {id, name, role}, everyone but us
// Staff moderation (a `moderation` message): participant id -> {videoPaused,
// muted}, ourselves included; shown on their tile and announced.
const moderation = new Map();

const token = readToken();

const devices = new Devices({
  video: $('preview-video'),
  cameraSelect: $('camera-select'),
  micSelect: $('mic-select'),
  meterBar: $('mic-level-bar'),
  onTrack: (kind, track) => {
    if (media) media.replaceTrack(kind, track, devices.stream).catch((err) => console.warn('gatehouse: replaceTrack', err));
    updateSelfState();
  },
});
devices.attach($('waiting-video'));
devices.attach($('call-video'));

const nameOf = (pid) => (participants.get(pid) || {}).name || 'Someone';

const tiles = new Tiles({
  container: $('tiles'),
  nameOf,
  onSoundBlocked: () => { $('sound').hidden = false; },
  onChange: () => {
    updatePeople();
    speaker.tilesChanged();
    quality.sync();
  },
});

// Simulcast, active speaker and connection quality (PROTOCOL.md: quality,
// speakers, stats).
const quality = new QualityRequests({
  send: (msg) => send(msg),
  canSend: () => state === 'live' && welcomed && !!media,
  tileOf: (pid) => tiles.tileOf(pid),
  ids: () => tiles.ids(),
});
const speaker = new ActiveSpeaker({
  tiles,
  selfTile: $('self-tile'),
  selfId: () => (me ? me.id : ''),
  nameOf,
  announcer: $('speaker-status'),
});
const netIndicator = new ConnectionIndicator({
  label: $('call-quality'),
  detailsEl: $('call-quality-details'),
  announce: (text) => say(text),
});
let lastStats = null; // the last `stats` message

function serverNow() {
  return Date.now() + clockOffset;
}

function readToken() {
  const hash = window.location.hash.replace(/^#/, '');
  const params = new URLSearchParams(hash);
  return (params.get('token') || '').trim();
}

// --- screens and messages ---------------------------------------------------

function setState(next) {
  state = next;
  for (const [name, el] of Object.entries(screens)) el.hidden = name !== next;
  document.title = `${titles[next]} – Gatehouse`;
  document.body.dataset.state = next;
  const heading = screens[next].querySelector('h1');
  if (heading) heading.focus({ preventScroll: false });
  tick();
}

function say(text) {
  // role=status: read out politely by screen readers.
  $('status').textContent = text;
}

let alertTimer = 0;
function banner(text, { sticky = false } = {}) {
  const el = $('alert');
  clearTimeout(alertTimer);
  if (!text) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.textContent = text;
  el.hidden = false;
  if (!sticky) alertTimer = setTimeout(() => banner(''), 60000);
}

function showError(title, text, { retry = false, reload = false } = {}) {
  $('error-title').textContent = title;
  $('error-text').textContent = text;
  $('retry').hidden = !retry;
  $('reload').hidden = !reload;
  say('');
  banner('');
  setState('error');
}

const RECORDED_TEXT = 'This call is recorded and may be monitored by prison staff.';
const LEGAL_TEXT = 'This is a legal call. It is not recorded and it is not monitored.';

// showRecordingNotice puts what participants must be told about recording
// and monitoring on every screen.
function showRecordingNotice(text, recorded) {
  $('recording-notice').textContent = text;
  for (const el of document.querySelectorAll('.recording-text')) el.textContent = text;
  $('call-recorded').textContent = recorded ? text : '';
  $('call-recorded').hidden = !recorded;
}

// setRecorded tells participants, from the welcome, whether the call is
// recorded (and so may be monitored).
function setRecorded(c) {
  let text;
  if (c.recorded) text = RECORDED_TEXT;
  else if (c.callType === 'legal') text = LEGAL_TEXT;
  else text = 'This call is not recorded.';
  showRecordingNotice(text, !!c.recorded);
}

// noticeBeforeJoining is what the device check says before the server does:
// the join link's role tells the call type for everyone but the prisoner
// (visitors join social calls only, which are always recorded). The
// welcome's call.recorded replaces it.
function noticeBeforeJoining(role) {
  if (role === 'visitor') return RECORDED_TEXT;
  if (role === 'legal') return LEGAL_TEXT;
  if (role === 'prisoner') return 'Social video calls are recorded and may be monitored by prison staff. Legal calls are not.';
  return 'Calls may be recorded and monitored by prison staff.';
}

// tokenRole reads the participant role from the join token (a JWT) without
// checking it: only to word the notice above; the server decides the rest.
function tokenRole(tok) {
  try {
    const part = tok.split('.')[1] || '';
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return typeof claims.role === 'string' ? claims.role : '';
  } catch {
    return '';
  }
}

function updatePeople() {
  const names = [...participants.values()].filter((p) => p.name)
    .map((p) => (p.state === 'reconnecting' ? `${p.name} (reconnecting)` : p.name));
  $('waiting-others').textContent = names.length
    ? `Already here: ${names.join(', ')}.`
    : 'Nobody else has joined yet.';
  $('alone').hidden = tiles.size > 0;
  document.body.dataset.tiles = String(Math.min(tiles.size, 4));
}

function updateSelfState() {
  const audio = devices.track('audio');
  const video = devices.track('video');
  const muted = !audio || !devices.enabled.audio;
  // The labels say what pressing does; data-off styles the switched-off state.
  const micOff = !!audio && !devices.enabled.audio;
  const camOff = !!video && !devices.enabled.video;
  $('mute').textContent = micOff ? 'Unmute' : 'Mute';
  $('mute').dataset.off = String(micOff);
  $('camera').textContent = camOff ? 'Camera on' : 'Camera off';
  $('camera').dataset.off = String(camOff);
  $('mute').disabled = !audio;
  $('camera').disabled = !video;
  $('self-muted').hidden = !muted;
  const noVideo = !video || !devices.enabled.video;
  let placeholder = 'Your camera is off';
  if (!devicesStarted) placeholder = 'Starting your camera…';
  else if (!video) placeholder = 'No camera';
  for (const el of document.querySelectorAll('.no-camera')) el.textContent = placeholder;
  for (const el of document.querySelectorAll('.self-tile, .self-preview')) el.classList.toggle('no-video', noVideo);
}

// tick refreshes the countdowns once a second.
function tick() {
  if (!call) return;
  const now = serverNow();
  if (state === 'waiting') {
    const left = Date.parse(call.startsAt) - now;
    $('waiting-countdown').textContent = left > 0 ? countdown(left) : 'any moment now';
    $('waiting-countdown-spoken').textContent = left > 0 ? spokenDuration(left) : 'any moment now';
  } else if (state === 'live') {
    const left = Date.parse(call.endsAt) - now;
    const el = $('time-left');
    el.textContent = countdown(left);
    el.classList.toggle('soon', left <= 5 * 60000);
    if (Math.floor(now / 1000) % 3 === 0) updatePath();
    watchMedia();
  }
}

// updatePath shows which way the call's media travels (ICE picks it: see
// call.js).
async function updatePath() {
  const p = media ? await media.path() : null;
  const text = describePath(p);
  const el = $('call-path');
  el.dataset.path = p ? (p.kind === 'relay' ? `relay-${p.relayProtocol || p.protocol}` : `direct-${p.protocol}`) : '';
  if (text === shownPath) return;
  shownPath = text;
  el.textContent = text;
  el.title = p && p.kind === 'relay'
    ? 'Your network did not let the call connect directly, so it goes through the visit service\'s relay.'
    : 'The call connects straight to the visit service.';
}
setInterval(tick, 1000);

// --- joining and the signalling session -----------------------------------

const devicesReady = token
  ? devices.start().then((problem) => {
    devicesStarted = true;
    if (problem) {
      $('device-problem').textContent = problem.message;
      $('device-problem').hidden = false;
      say(problem.message);
    } else {
      say('Camera and microphone are working.');
    }
    updateSelfState();
  })
  : Promise.resolve();

async function join() {
  if (joinRequested || state !== 'preview' || !token) return;
  joinRequested = true;
  $('join').disabled = true;
  devices.resumeAudio();
  const slow = setTimeout(() => say('Waiting for permission to use your camera and microphone…'), 1500);
  await devicesReady;
  clearTimeout(slow);
  say('Connecting to your visit…');
  connect();
}

// connect opens a signalling socket; with peer connections still open from
// an earlier one, it asks the server to resume them.
function connect() {
  finished = false;
  welcomed = false;
  const s = new Signal({
    url: signallingURL(),
    token,
    resume: !!(media && media.active()),
    onMessage: (msg) => { if (s === signal) handle(msg); },
    onClose: (ev, info) => { if (s === signal) onSocketClosed(ev, info); },
  });
  signal = s;
  s.open();
}

function setConnection(c) {
  connection = c;
  document.body.dataset.connection = c;
}

function send(msg) {
  return signal ? signal.send(msg) : false;
}

function handle(msg) {
  switch (msg.type) {
    case 'welcome': return onWelcome(msg);
    case 'state': return onCallState(msg);
    case 'participantJoined': return onParticipantJoined(msg.participant);
    case 'participantLeft': return onParticipantLeft(msg.participantId);
    case 'participantState': return onParticipantState(msg);
    case 'answer': if (media) media.handleAnswer(msg.sdp); return undefined;
    case 'offer': ensureMedia().handleOffer(msg.sdp); return undefined;
    case 'candidate': ensureMedia().handleCandidate(msg.target, msg.candidate); return undefined;
    case 'warning': return onWarning(msg);
    case 'ended': return onEnded(msg.reason);
    case 'error': return onProtocolError(msg);
    case 'pong': return onPong(msg);
    case 'iceServers': return onIceServers(msg);
    case 'layers': if (media) media.setLayers(msg); return undefined;
    case 'speakers': speaker.update(msg.speakers); return undefined;
    case 'stats': return onStats(msg);
    case 'moderation': return onModeration(msg);
    default: return undefined; // newer servers may add types: ignore
  }
}

function onWelcome(msg) {
  const back = lostAt !== 0;
  welcomed = true;
  reconnects = 0;
  lostAt = 0;
  setConnection('connected');
  me = msg.participant || null;
  iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
  call = msg.call || {};
  const st = Date.parse(msg.serverTime);
  if (!Number.isNaN(st)) clockOffset = st - Date.now();
  participants.clear();
  for (const p of msg.participants || []) {
    if (p && p.id && (!me || p.id !== me.id)) {
      participants.set(p.id, p);
      tiles.setStatus(p.id, p.state === 'reconnecting' ? 'Reconnecting…' : '');
    }
  }
  for (const pid of tiles.ids()) tiles.rename(pid);
  if (call.reference) $('call-reference').textContent = `Visit ${call.reference}`;
  setRecorded(call);
  $('waiting-start').textContent = localTimeOf(call.startsAt);
  const startDay = localDateOf(call.startsAt);
  $('waiting-date').textContent = startDay === localDateOf(Date.now()) ? 'today' : `on ${startDay}`;
  banner('');
  updatePeople();
  if (media && media.active()) {
    if (msg.resumed) {
      // Same call, same connections: new relay credentials, then ICE
      // restarts (the server sends the subscriber's offer itself).
      resumes += 1;
      media.setIceServers(iceServers);
      media.restartPublisher();
    } else {
      // The server has no media session of ours any more (its grace ran
      // out): start afresh.
      closeMedia();
    }
  }
  if (back) say(msg.resumed ? 'You are back in your visit.' : 'You are back in your visit. Reconnecting the video…');
  if (!msg.resumed) quality.reset(); // a new media session: ask again
  if (!media) media = newMedia(iceServers);
  if (call.state === 'live') goLive();
  else goWaiting();
  quality.schedule();
}

// onStats keeps the media server's figures for this connection (every 5 s)
// and shows them as the connection indicator.
function onStats(msg) {
  lastStats = msg;
  netIndicator.update(msg);
}

// onIceServers applies fresh relay credentials (sent before the old ones
// expire) to the open connections and to any made later.
function onIceServers(msg) {
  if (!Array.isArray(msg.iceServers)) return;
  iceServers = msg.iceServers;
  if (media) media.setIceServers(iceServers);
}

function onCallState(msg) {
  if (!call) return;
  if (msg.startsAt) call.startsAt = msg.startsAt;
  if (msg.endsAt) call.endsAt = msg.endsAt;
  call.state = msg.state;
  if (msg.state === 'live') goLive();
  else if (msg.state === 'waiting') goWaiting();
}

function goWaiting() {
  if (state === 'waiting') return;
  $('waiting-devices').append($('device-panel'));
  say(`You are in the waiting room. Your visit starts at ${localTimeOf(call.startsAt)}.`);
  setState('waiting');
}

function goLive() {
  if (state !== 'live') {
    $('call-devices').append($('device-panel'));
    say('Your visit has started.');
    setState('live');
  }
  ensureMedia().publish(devices.stream);
}

function newMedia(iceServers) {
  return new CallMedia({
    iceServers,
    relay: relayOnly,
    onPathChange: () => updatePath(),
    send,
    onRemoteTrack: (pid, track, stream) => {
      if (me && pid === me.id) return;
      tiles.add(pid, track, stream);
    },
    onConnectionState: () => watchMedia(),
  });
}

// watchMedia restarts ICE on a connection that lost its path while the
// socket works (PROTOCOL.md, Reconnection). It runs every second and on
// every connection state change.
function watchMedia() {
  if (!media || !signal || !welcomed || lostAt || finished || state !== 'live') {
    mediaWatch.troubleSince = 0;
    return;
  }
  const states = media.connectionStates();
  const troubled = [];
  let patience = Infinity;
  for (const target of ['pub', 'sub']) {
    const st = states[target];
    let wait;
    if (st === 'connected') {
      mediaWatch.seen[target] = true;
      continue;
    } else if (st === 'failed') {
      wait = 0;
    } else if (st === 'disconnected') {
      wait = DISCONNECTED_PATIENCE_MS;
    } else if (st === 'connecting' && mediaWatch.seen[target]) {
      wait = RESTART_BACKOFF_MS; // an ICE restart under way
    } else {
      continue; // none yet, new, a first connect, or closed
    }
    troubled.push(target);
    patience = Math.min(patience, wait);
  }
  const now = Date.now();
  if (troubled.length === 0) {
    if (mediaWatch.troubleSince && connection === 'reconnecting') {
      setConnection('connected');
      banner('');
      say('Your connection is back.');
    }
    mediaWatch.troubleSince = 0;
    mediaWatch.tries = 0;
    return;
  }
  if (!mediaWatch.troubleSince) mediaWatch.troubleSince = now;
  const backoff = Math.min(RESTART_BACKOFF_MS * 2 ** Math.max(mediaWatch.tries - 1, 0), RESTART_BACKOFF_MAX_MS);
  if (mediaWatch.probing || now - mediaWatch.troubleSince < patience
    || (mediaWatch.tries > 0 && now - mediaWatch.lastTry < backoff)) return;
  mediaWatch.lastTry = now;
  mediaWatch.tries += 1;
  recoverMedia(troubled);
}

// recoverMedia restarts ICE on targets if the socket still answers a ping,
// and otherwise gives the socket up, so that the page resumes on a new one.
async function recoverMedia(targets) {
  const s = signal;
  mediaWatch.probing = true;
  const alive = await s.probe(2000);
  mediaWatch.probing = false;
  if (s !== signal || finished || !media) return;
  if (!alive) {
    console.warn('gatehouse: the signalling socket does not answer; reconnecting');
    s.drop();
    return;
  }
  console.warn('gatehouse: media connection lost; restarting ICE on', targets.join(', '));
  setConnection('reconnecting');
  banner('Connection lost. Reconnecting…', { sticky: true });
  if (targets.includes('pub')) media.restartPublisher();
  if (targets.includes('sub')) send({ type: 'restart', target: 'sub' });
}

function ensureMedia() {
  if (!media) media = newMedia(iceServers);
  return media;
}

function closeMedia() {
  if (media) media.close();
  media = null;
  mediaWatch.seen = { pub: false, sub: false };
  mediaWatch.troubleSince = 0;
  mediaWatch.tries = 0;
  tiles.clear();
  speaker.clear();
  netIndicator.reset();
  lastStats = null;
}

function onParticipantJoined(p) {
  if (!p || !p.id || (me && p.id === me.id)) return;
  participants.set(p.id, p);
  tiles.rename(p.id);
  updatePeople();
  say(`${p.name || 'Someone'} joined.`);
}

function onParticipantLeft(pid) {
  const p = participants.get(pid);
  participants.delete(pid);
  moderation.delete(pid);
  tiles.setStatus(pid, '');
  tiles.setNote(pid, '');
  tiles.hideVideo(pid, false);
  tiles.remove(pid);
  updatePeople();
  if (p) say(`${p.name || 'Someone'} left.`);
}

// onParticipantState shows that someone lost their connection (the server
// holds their place; their picture stops meanwhile) or is back.
function onParticipantState(msg) {
  const p = participants.get(msg.participantId);
  if (!p) return;
  const away = msg.state === 'reconnecting';
  p.state = away ? 'reconnecting' : '';
  tiles.setStatus(p.id, away ? 'Reconnecting…' : '');
  updatePeople();
  say(away ? `${p.name || 'Someone'} lost their connection. Reconnecting…` : `${p.name || 'Someone'} is back.`);
}

// moderationText is the neutral line shown on a moderated participant's tile.
function moderationText(m) {
  if (m.videoPaused && m.muted) return 'Video paused and muted by staff';
  if (m.videoPaused) return 'Video paused by staff';
  if (m.muted) return 'Muted by staff';
  return '';
}

// onModeration shows that staff paused someone's video or muted them (or
// undid it), on their tile, and says so once.
function onModeration(msg) {
  const pid = typeof msg.participantId === 'string' ? msg.participantId : '';
  if (!pid) return;
  const m = { videoPaused: !!msg.videoPaused, muted: !!msg.muted };
  const was = moderation.get(pid) || { videoPaused: false, muted: false };
  if (m.videoPaused || m.muted) moderation.set(pid, m);
  else moderation.delete(pid);
  const self = !!me && pid === me.id;
  const text = moderationText(m);
  if (self) {
    $('self-moderation').textContent = text;
    $('self-moderation').hidden = !text;
  } else {
    tiles.setNote(pid, text);
    tiles.hideVideo(pid, m.videoPaused);
  }
  const name = nameOf(pid);
  const said = [];
  if (m.videoPaused !== was.videoPaused) {
    if (self) said.push(m.videoPaused ? 'Your video was paused by staff.' : 'Your video is on again.');
    else said.push(m.videoPaused ? `${name}'s video was paused by staff.` : `${name}'s video is on again.`);
  }
  if (m.muted !== was.muted) {
    if (self) said.push(m.muted ? 'You were muted by staff.' : 'You can be heard again.');
    else said.push(m.muted ? `${name} was muted by staff.` : `${name} can be heard again.`);
  }
  if (said.length) say(said.join(' '));
}

function onWarning(msg) {
  if (call && msg.endsAt) call.endsAt = msg.endsAt;
  const n = Number(msg.minutesLeft);
  banner(n === 1 ? '1 minute left. The call will end by itself.' : `${n} minutes left.`);
}

function onPong(msg) {
  const st = Date.parse(msg.serverTime);
  // Keep the offset from drifting; half the round trip does not matter here.
  if (!Number.isNaN(st)) clockOffset = st - Date.now();
}

function onEnded(reason) {
  finished = true;
  closeMedia();
  if (signal) signal.close();
  const rejoin = canRejoin(reason) && call && Date.parse(call.endsAt) > serverNow();
  if (!rejoin) devices.stop();
  $('ended-title').textContent = reason === 'left' ? 'You have left the visit' : 'The visit has ended';
  $('ended-reason').textContent = endedText(reason);
  $('rejoin').hidden = !rejoin;
  $('rejoin').textContent = reason === 'replaced' ? 'Use this window instead' : 'Join again';
  banner('');
  say('');
  setState('ended');
}

function onProtocolError(msg) {
  if (!msg.fatal) {
    console.warn('gatehouse: server error', msg.code, msg.message, msg.ref ? `(for ${msg.ref})` : '');
    if (msg.code === 'negotiation_failed' && msg.ref === 'offer' && media) media.offerRefused();
    return;
  }
  finished = true;
  closeMedia();
  if (signal) signal.close();
  const info = errorInfo(msg.code);
  if (!info.retry) devices.stop();
  showError(info.title, info.text, info);
}

function onSocketClosed(ev, { byClient }) {
  if (byClient || finished) return;
  signal = null;
  if (call && Date.parse(call.endsAt) <= serverNow()) {
    onEnded('time');
    return;
  }
  if (!welcomed && reconnects === 0 && lostAt === 0 && state === 'preview') {
    // Never admitted: nothing to resume.
    closeMedia();
    showError('We could not reach the visit service',
      'Please check your internet connection and try again.', { retry: true });
    return;
  }
  reconnect();
}

// reconnect redials after the socket was lost, keeping the peer
// connections so that the server can resume them.
function reconnect() {
  if (finished) return;
  if (!lostAt) lostAt = Date.now();
  if (Date.now() - lostAt > RECONNECT_GIVE_UP_MS) {
    finished = true;
    closeMedia();
    devices.stop();
    showError('The connection was lost',
      'We could not reconnect you. Check your internet connection, then reload the page to join again.',
      { reload: true });
    return;
  }
  setConnection('reconnecting');
  banner('Connection lost. Reconnecting…', { sticky: true });
  const delay = Math.max(RECONNECT_DELAYS[Math.min(reconnects, RECONNECT_DELAYS.length - 1)],
    redialNotBefore - Date.now());
  reconnects += 1;
  setTimeout(() => {
    if (!finished) connect();
  }, delay);
}

function hangUp() {
  send({ type: 'leave' });
  // Do not wait for the server's `ended`: the person asked to go.
  onEnded('left');
}

// --- controls -------------------------------------------------------------

$('join').addEventListener('click', join);
$('hangup').addEventListener('click', hangUp);
$('leave-waiting').addEventListener('click', hangUp);
$('mute').addEventListener('click', () => {
  devices.setEnabled('audio', !devices.enabled.audio);
  updateSelfState();
  say(devices.enabled.audio ? 'Microphone on.' : 'Microphone muted.');
});
$('camera').addEventListener('click', () => {
  devices.setEnabled('video', !devices.enabled.video);
  updateSelfState();
  say(devices.enabled.video ? 'Camera on.' : 'Camera off.');
});
$('sound').addEventListener('click', () => {
  $('sound').hidden = true;
  tiles.resumeSound();
});
$('devices-toggle').addEventListener('click', () => {
  const panel = $('call-devices');
  panel.hidden = !panel.hidden;
  $('devices-toggle').setAttribute('aria-expanded', String(!panel.hidden));
});
$('retry').addEventListener('click', () => {
  if (devices.stopped) {
    window.location.reload();
    return;
  }
  joinRequested = false;
  reconnects = 0;
  lostAt = 0;
  $('join').disabled = false;
  document.querySelector('.device-check').append($('device-panel'));
  setState('preview');
  join();
});
$('reload').addEventListener('click', () => window.location.reload());
// The connection details close with Escape, as tooltips should.
$('call-quality').addEventListener('keydown', (ev) => { if (ev.key === 'Escape') ev.currentTarget.blur(); });
$('rejoin').addEventListener('click', () => window.location.reload());
// Any first gesture lets the level meter (and blocked sound) start.
document.addEventListener('pointerdown', () => devices.resumeAudio(), { once: true });
document.addEventListener('keydown', () => devices.resumeAudio(), { once: true });
// A different join link pasted into this tab changes only the fragment.
window.addEventListener('hashchange', () => window.location.reload());
window.addEventListener('pagehide', () => {
  if (signal && (state === 'waiting' || state === 'live')) send({ type: 'leave' });
});

// --- start ------------------------------------------------------------------

if (token) showRecordingNotice(noticeBeforeJoining(tokenRole(token)), false);
if (!token) {
  devices.disablePickers();
  showError('This join link is incomplete',
    'The page was opened without its join code. Open the full link from the message you were sent ' +
    '(it ends with “#token=” and a long code).');
}
updatePeople();
updateSelfState();

// Hooks for automated browser tests.
window.gatehouse = {
  state: () => state,
  join: () => { join(); },
  stats: async () => {
    const s = media ? await media.stats() : { framesDecoded: 0, packetsReceived: 0 };
    const ids = new Set([...participants.keys(), ...tiles.ids()]);
    return { framesDecoded: s.framesDecoded, packetsReceived: s.packetsReceived, remoteParticipants: ids.size };
  },
  path: async () => (media ? media.path() : null),
  paths: async () => (media ? media.paths() : { pub: null, sub: null }),
  connection: () => connection,
  participantStates: () => Object.fromEntries([...participants.values()].map((p) => [p.id, p.state || 'connected'])),
  dropConnection: (holdMs = 0) => {
    redialNotBefore = Date.now() + Number(holdMs || 0);
    if (signal) signal.drop();
  },
  resumes: () => resumes,
  connectionStates: () => (media ? media.connectionStates() : { pub: null, sub: null }),
  publishing: async () => (media ? media.publishInfo() : { encodings: [], serverActive: null, codec: '', outbound: [] }),
  mediaStats: () => lastStats,
  connectionQuality: () => netIndicator.state(),
  receivedLayers: async () => {
    const out = {};
    const layers = (lastStats && lastStats.layers) || {};
    for (const [pid, layer] of Object.entries(layers)) out[pid] = { layer, frameWidth: 0, frameHeight: 0, framesDecoded: 0 };
    for (const v of media ? await media.inbound() : []) {
      const pid = tiles.ownerOf(v.trackIdentifier);
      if (!pid) continue;
      out[pid] = { layer: (out[pid] || {}).layer || '', frameWidth: v.frameWidth, frameHeight: v.frameHeight, framesDecoded: v.framesDecoded };
    }
    return out;
  },
  speakers: () => speaker.state().speakers,
  activeSpeaker: () => { const s = speaker.state(); return { loudest: s.loudest, featured: s.featured }; },
  qualityRequests: () => quality.requests(),
  setQuality: (pid, layer) => quality.setOverride(pid, layer),
  transports: async () => (media ? media.transports() : { pub: null, sub: null }),
  moderation: () => Object.fromEntries([...moderation].map(([pid, m]) => [pid, { ...m }])),
  forceRelay: (transport) => {
    if (!['udp', 'tcp', 'tls', 'any', ''].includes(transport)) throw new Error(`unknown relay transport ${transport}`);
    if (media) throw new Error('forceRelay must come before joining');
    relayOnly = transport;
  },
};
