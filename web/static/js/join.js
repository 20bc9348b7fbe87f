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

import { Signal, signallingURL } from './signal.js';
import { CallMedia, describePath } from './call.js';
import { Devices } from './devices.js';
import { Tiles } from './tiles.js';
import { errorInfo, endedText, canRejoin } from './messages.js';
import { countdown, spokenDuration, localTimeOf, localDateOf } from './time.js';

const $ = (id) => document.getElementById(id);

// Reconnect after an unexpected close: delays in ms, then give up.
const RECONNECT_DELAYS = [500, 1000, 2000, 4000, 8000, 8000];

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
let devicesStarted = false; // the camera/microphone request has settled
let relayOnly = ''; // forceRelay(): '' (any path) or the relay transport to use
let shownPath = ''; // the path text on the call screen
const participants = new Map(); // id -> {id, name, role}, everyone but us

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

const tiles = new Tiles({
  container: $('tiles'),
  nameOf: (pid) => (participants.get(pid) || {}).name || 'Someone',
  onSoundBlocked: () => { $('sound').hidden = false; },
  onChange: () => updatePeople(),
});

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

function setRecorded(c) {
  let text;
  if (c.recorded) {
    text = 'This call is recorded and may be monitored by prison staff.';
  } else if (c.callType === 'legal') {
    text = 'This is a legal call. It is not recorded and it is not monitored.';
  } else {
    text = 'This call is not recorded.';
  }
  $('recording-notice').textContent = text;
  for (const el of document.querySelectorAll('.recording-text')) el.textContent = text;
  $('call-recorded').hidden = !c.recorded;
}

function updatePeople() {
  const names = [...participants.values()].map((p) => p.name).filter(Boolean);
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

function connect() {
  finished = false;
  welcomed = false;
  signal = new Signal({
    url: signallingURL(),
    token,
    onMessage: handle,
    onClose: onSocketClosed,
  });
  signal.open();
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
    case 'answer': if (media) media.handleAnswer(msg.sdp); return undefined;
    case 'offer': ensureMedia().handleOffer(msg.sdp); return undefined;
    case 'candidate': ensureMedia().handleCandidate(msg.target, msg.candidate); return undefined;
    case 'warning': return onWarning(msg);
    case 'ended': return onEnded(msg.reason);
    case 'error': return onProtocolError(msg);
    case 'pong': return onPong(msg);
    case 'iceServers': return onIceServers(msg);
    default: return undefined; // newer servers may add types: ignore
  }
}

function onWelcome(msg) {
  welcomed = true;
  reconnects = 0;
  me = msg.participant || null;
  iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
  call = msg.call || {};
  const st = Date.parse(msg.serverTime);
  if (!Number.isNaN(st)) clockOffset = st - Date.now();
  participants.clear();
  for (const p of msg.participants || []) {
    if (p && p.id && (!me || p.id !== me.id)) participants.set(p.id, p);
  }
  for (const pid of tiles.ids()) tiles.rename(pid);
  if (call.reference) $('call-reference').textContent = `Visit ${call.reference}`;
  setRecorded(call);
  $('waiting-start').textContent = localTimeOf(call.startsAt);
  const startDay = localDateOf(call.startsAt);
  $('waiting-date').textContent = startDay === localDateOf(Date.now()) ? 'today' : `on ${startDay}`;
  banner('');
  updatePeople();
  if (!media) media = newMedia(iceServers);
  if (call.state === 'live') goLive();
  else goWaiting();
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
    onFailed: (target) => {
      if (!signal || finished) return;
      console.warn(`gatehouse: ${target} connection failed; reconnecting`);
      // A full reconnect builds both connections again; the server replaces
      // our old session with the new one.
      signal.close();
      signal = null;
      reconnect();
    },
  });
}

function ensureMedia() {
  if (!media) media = newMedia(iceServers);
  return media;
}

function closeMedia() {
  if (media) media.close();
  media = null;
  tiles.clear();
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
  tiles.remove(pid);
  updatePeople();
  if (p) say(`${p.name || 'Someone'} left.`);
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
  if (!welcomed && reconnects === 0 && state === 'preview') {
    // Never admitted: nothing to resume.
    closeMedia();
    showError('We could not reach the visit service',
      'Please check your internet connection and try again.', { retry: true });
    return;
  }
  reconnect();
}

function reconnect() {
  if (finished) return;
  closeMedia();
  if (reconnects >= RECONNECT_DELAYS.length) {
    finished = true;
    devices.stop();
    showError('The connection was lost',
      'We could not reconnect you. Check your internet connection, then reload the page to join again.',
      { reload: true });
    return;
  }
  banner('Connection lost. Reconnecting…', { sticky: true });
  const delay = RECONNECT_DELAYS[reconnects];
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
  $('join').disabled = false;
  document.querySelector('.device-check').append($('device-panel'));
  setState('preview');
  join();
});
$('reload').addEventListener('click', () => window.location.reload());
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
  forceRelay: (transport) => {
    if (!['udp', 'tcp', 'tls', 'any', ''].includes(transport)) throw new Error(`unknown relay transport ${transport}`);
    if (media) throw new Error('forceRelay must come before joining');
    relayOnly = transport;
  },
};
