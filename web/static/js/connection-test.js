// The connection test: can this network reach the visit's media server
// directly, and through the relay over UDP, TCP and TLS? Each check is one
// small data-channel connection to a probe peer on the media server
// (web/conntest.go), which echoes a message back: a check passes when the
// echo returns, so it proves media would flow, not only that a port is open.
//
// Hooks for automated browser tests:
//   window.gatehouse.run()     start the test; Promise of the results
//   window.gatehouse.results() {done, checks: {direct, udp, tcp, tls}: 'ok' |
//                              'blocked' | 'unavailable' | 'pending', errors
//                              (by check, when one failed with an error),
//                              verdict: 'good' | 'fair' | 'bad'}

import { h } from './dom.js';
import { transportOf, selectedPath } from './call.js';

const $ = (id) => document.getElementById(id);

// CHECK_TIMEOUT_MS bounds one check: ICE tries for about this long before
// we call a path blocked.
const CHECK_TIMEOUT_MS = 10000;

const CHECKS = [
  { id: 'direct', name: 'Direct connection to the visit server', port: 'UDP' },
  { id: 'udp', name: 'Through our relay over UDP', port: 'UDP port 3478' },
  { id: 'tcp', name: 'Through our relay over TCP', port: 'TCP port 3478' },
  { id: 'tls', name: 'Through our relay over TLS', port: 'an encrypted connection, like a web page' },
];

let results = { done: false, checks: {}, errors: {}, verdict: '' };
let running = false;

async function postJSON(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
    cache: 'no-store',
  });
  if (!res.ok) {
    let detail = '';
    try { detail = (await res.json()).detail || ''; } catch { /* not JSON */ }
    const err = new Error(detail || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return res.json();
}

// probe opens one connection with config and resolves to {ok, path}.
async function probe(config) {
  const pc = new RTCPeerConnection(config);
  const dc = pc.createDataChannel('probe');
  const echoed = new Promise((resolve) => {
    dc.onopen = () => dc.send('gatehouse-probe');
    dc.onmessage = (ev) => { if (ev.data === 'gatehouse-probe') resolve(true); };
  });
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // No trickle: gather (briefly) then send one offer.
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      const t = setTimeout(resolve, 4000);
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      };
    });
    const answer = await postJSON('/connection-test/offer', { sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    const ok = await Promise.race([echoed, new Promise((r) => setTimeout(() => r(false), CHECK_TIMEOUT_MS))]);
    const path = ok ? await selectedPath(pc) : null;
    return { ok, path };
  } finally {
    pc.close();
  }
}

function render() {
  const items = CHECKS.map((c) => {
    const st = results.checks[c.id] || 'pending';
    const cls = { ok: 'check-ok', blocked: 'check-bad', unavailable: 'check-skip', pending: 'check-wait' }[st];
    const word = { ok: 'works', blocked: 'blocked', unavailable: 'not offered by this service', pending: 'checking…' }[st];
    return h('li', { class: cls, 'data-check': c.id, 'data-result': st },
      `${c.name}: ${word}`, h('span', { class: 'detail' }, `Uses ${c.port}.`));
  });
  $('checks').replaceChildren(...items);
}

// verdict turns the results into plain English.
function verdict(ch) {
  const relays = ['udp', 'tcp', 'tls'].filter((t) => ch[t] === 'ok');
  if (ch.direct === 'ok') {
    return { level: 'good', text: 'Your network can reach the visit service directly. Video visits should work well here.' };
  }
  if (relays.length) {
    const only443 = relays.length === 1 && relays[0] === 'tls';
    return {
      level: 'fair',
      text: only443
        ? 'Your network blocks most connections, but a visit can still get through as encrypted web traffic. The call should work; the picture may take a little longer to start.'
        : 'Your network blocks direct connections, but a visit can still get through our relay. The call should work.',
      advice: 'If the picture is poor on the day, try another network, such as home Wi-Fi or mobile data.',
    };
  }
  const anyRelay = ['udp', 'tcp', 'tls'].some((t) => ch[t] !== 'unavailable');
  return {
    level: 'bad',
    text: 'Your network does not let video visits through.',
    advice: anyRelay
      ? 'Try a different network, such as mobile data or home Wi-Fi. On a work or school network, ask whoever runs it to allow video calls (WebRTC).'
      : 'Try a different network, such as mobile data or home Wi-Fi.',
  };
}

async function run() {
  if (running) return results;
  running = true;
  $('start').disabled = true;
  $('verdict').hidden = true;
  $('advice').hidden = true;
  results = { done: false, checks: {}, errors: {}, verdict: '' };
  for (const c of CHECKS) results.checks[c.id] = 'pending';
  render();
  if (!('RTCPeerConnection' in window)) {
    for (const c of CHECKS) results.checks[c.id] = 'blocked';
    finish({ level: 'bad', text: 'This browser cannot make video calls. Please use a current version of Chrome, Edge, Firefox or Safari.' });
    return results;
  }
  let ice = { iceServers: [], relay: false };
  try {
    ice = await postJSON('/connection-test/ice');
  } catch (err) {
    if (err.status === 429) {
      finish({ level: 'bad', text: 'Too many tests were run from this network just now. Please wait a minute and try again.' });
      return results;
    }
    // The service did not answer: the direct check below will say more.
  }
  const relayURLs = (t) => {
    const out = [];
    for (const s of ice.iceServers || []) {
      const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => transportOf(u) === t);
      if (urls.length) out.push({ urls, username: s.username, credential: s.credential });
    }
    return out;
  };
  const jobs = CHECKS.map(async (c) => {
    let config;
    if (c.id === 'direct') {
      config = { iceServers: [] };
    } else {
      const servers = relayURLs(c.id);
      if (!servers.length) {
        results.checks[c.id] = 'unavailable';
        render();
        return;
      }
      config = { iceServers: servers, iceTransportPolicy: 'relay' };
    }
    let r = { ok: false };
    try {
      r = await probe(config);
    } catch (err) {
      console.warn(`gatehouse: ${c.id} check`, err);
      results.errors[c.id] = String(err && err.message ? err.message : err);
    }
    results.checks[c.id] = r.ok ? 'ok' : 'blocked';
    if (r.path) results.checks[`${c.id}Path`] = r.path;
    render();
  });
  await Promise.all(jobs);
  finish(verdict(results.checks));
  return results;
}

function finish(v) {
  results.done = true;
  results.verdict = v.level;
  render();
  const el = $('verdict');
  el.textContent = v.text;
  el.className = `verdict verdict-${v.level}`;
  el.hidden = false;
  if (v.advice) {
    $('advice').textContent = v.advice;
    $('advice').hidden = false;
  }
  $('start').disabled = false;
  $('start').textContent = 'Test again';
  running = false;
}

$('start').addEventListener('click', () => { run(); });

window.gatehouse = {
  run,
  results: () => results,
};
