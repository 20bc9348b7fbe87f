// The media side of a call: two RTCPeerConnections per participant, as
// signalling/PROTOCOL.md describes.
//
//   publisher  ("pub"): this client offers; it sends our microphone and
//                       camera, send-only.
//   subscriber ("sub"): the server offers; it carries everyone else's audio
//                       and video, receive-only. Each received track's
//                       streams[0].id is the publishing participant's id.
//
// All work on one connection runs through a promise chain, so a server
// offer, the answer we create and trickled candidates are applied in the
// order they arrived, and candidates wait until a remote description with
// their ICE username fragment is set (after an ICE restart the new
// candidates may overtake the description that carries them).

import { sendEncodingsForTrack, preferCodec, applyActive } from './simulcast.js';

// MAX_PENDING bounds the candidates waiting for their description.
const MAX_PENDING = 64;

// Side is one peer connection with its serial work queue and the ICE
// candidates that arrived before its remote description.
class Side {
  constructor(name) {
    this.name = name;
    this.pc = null;
    this.pending = [];
    this.queue = Promise.resolve();
  }

  run(fn) {
    this.queue = this.queue.then(fn).catch((err) => {
      console.error(`gatehouse: ${this.name} connection:`, err);
    });
    return this.queue;
  }

  async addCandidate(init) {
    if (!this.pc || !matchesRemote(this.pc, init)) {
      if (this.pending.length >= MAX_PENDING) this.pending.shift(); // the stalest
      this.pending.push(init);
      return;
    }
    await addIce(this.pc, init);
  }

  // flush adds the waiting candidates that belong to the remote description
  // now applied; the others keep waiting for theirs.
  async flush() {
    const ready = this.pending.filter((c) => matchesRemote(this.pc, c));
    this.pending = this.pending.filter((c) => !ready.includes(c));
    for (const c of ready) await addIce(this.pc, c);
  }

  close() {
    if (this.pc) {
      this.pc.onicecandidate = null;
      this.pc.ontrack = null;
      this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.pc = null;
    this.pending = [];
  }
}

// ufragOf returns the ICE username fragment a candidate belongs to, or ''.
export function ufragOf(init) {
  if (!init) return '';
  if (init.usernameFragment) return init.usernameFragment;
  const m = /\bufrag (\S+)/.exec(init.candidate || '');
  return m ? m[1] : '';
}

// matchesRemote says whether a candidate can be added to pc now.
function matchesRemote(pc, init) {
  const rd = pc.remoteDescription;
  if (!rd) return false;
  const ufrag = ufragOf(init);
  return !ufrag || rd.sdp.split(/\r?\n/).includes(`a=ice-ufrag:${ufrag}`);
}

async function addIce(pc, init) {
  try {
    await pc.addIceCandidate(init);
  } catch (err) {
    // A candidate for an old ICE generation, or one the browser cannot use:
    // not fatal, others will do.
    console.warn('gatehouse: ignoring ICE candidate', init && init.candidate, err);
  }
}

// CallMedia runs both peer connections of one call; they outlive a
// signalling socket (see Reconnection in PROTOCOL.md). send(msg) writes a
// protocol message on the current socket; onRemoteTrack(participantId,
// track, stream) gets every received track; onConnectionState(target,
// state) reports each connection's state changes (the page restarts ICE on
// 'disconnected' and 'failed'); onPathChange() is called when a
// connection's ICE state moves.
//
// Paths: the connections get every ICE server at once (the relay's UDP, TCP
// and TLS URLs). ICE then tries all paths together and keeps the best that
// works, by candidate priority: direct UDP to the media server first, then
// the relay over UDP, then over TCP, then over TLS (browsers rank relayed
// candidates by their transport in that order). A network that blocks UDP
// or allows only port 443 so falls back without any wait of our own.
//
// relay ('udp', 'tcp', 'tls' or 'any'), when set, forces relayed paths only
// (iceTransportPolicy 'relay'), through the relay URLs of that transport: a
// test hook, and a privacy option (the media server then never learns the
// device's own addresses).
export class CallMedia {
  constructor({ iceServers, send, onRemoteTrack, onConnectionState, onPathChange, relay }) {
    this.relay = relay || '';
    this.config = { iceServers: iceServersFor(iceServers, this.relay), bundlePolicy: 'max-bundle' };
    if (this.relay) this.config.iceTransportPolicy = 'relay';
    this.send = send;
    this.onRemoteTrack = onRemoteTrack;
    this.onConnectionState = onConnectionState || (() => {});
    this.onPathChange = onPathChange || (() => {});
    this.pub = new Side('pub');
    this.sub = new Side('sub');
    this.senders = { audio: null, video: null };
    // Dynacast (a `layers` message): the rids the media server wants sent,
    // or null until it says; applied in order, and again after each answer.
    this.wantedLayers = null;
    this.layersMsg = null; // the last `layers` message
    this.layersQueue = Promise.resolve();
    this.publishing = false;
    this.offerPending = false; // a publisher offer awaits its answer
    this.renegotiate = false; // another publisher offer is wanted after that
    this.closed = false;
  }

  newPC(side) {
    const pc = new RTCPeerConnection(this.config);
    pc.onicecandidate = (ev) => {
      // A null candidate ends gathering; the protocol marks that with an
      // empty candidate string.
      const candidate = ev.candidate ? ev.candidate.toJSON() : { candidate: '' };
      this.send({ type: 'candidate', target: side.name, candidate });
    };
    pc.onconnectionstatechange = () => {
      if (!this.closed) this.onConnectionState(side.name, pc.connectionState);
      this.onPathChange();
    };
    side.pc = pc;
    return pc;
  }

  // publish starts the publisher connection with the local tracks: one
  // send-only transceiver per track, then an offer.
  publish(stream) {
    if (this.publishing || this.closed) return;
    this.publishing = true;
    const pc = this.newPC(this.pub);
    for (const track of stream.getTracks()) this.addSender(pc, track, stream);
    if (pc.getTransceivers().length > 0) this.offer();
  }

  // addSender adds a send-only transceiver for a local track: the camera as
  // simulcast encodings with VP8 preferred (simulcast.js), the microphone
  // as it is.
  addSender(pc, track, stream) {
    const init = { direction: 'sendonly', streams: [stream] };
    if (track.kind === 'video') init.sendEncodings = sendEncodingsForTrack(track);
    const t = pc.addTransceiver(track, init);
    if (track.kind === 'video') preferCodec(t);
    this.senders[track.kind] = t.sender;
    return t;
  }

  // setLayers pauses the camera's simulcast encodings nobody watches and
  // resumes the others: a `layers` message {trackId, active}. There is one
  // camera, so trackId (the track the offer announced, which a camera
  // switch does not change) only goes into the record.
  setLayers(msg) {
    if (!msg || !Array.isArray(msg.active)) return;
    this.layersMsg = { trackId: msg.trackId || '', active: msg.active.filter((r) => typeof r === 'string') };
    this.wantedLayers = this.layersMsg.active;
    this.applyLayers();
  }

  applyLayers() {
    const wanted = this.wantedLayers;
    if (!wanted) return;
    this.layersQueue = this.layersQueue.then(async () => {
      if (this.closed || wanted !== this.wantedLayers) return;
      await applyActive(this.senders.video, wanted);
    }).catch((err) => console.warn('gatehouse: simulcast layers not applied', err));
  }

  // publishInfo describes what the camera sender sends: its encodings with
  // their active flags, the rids the media server last asked for (null
  // before any `layers` message), the negotiated codec, and the
  // outbound-rtp figures of each encoding.
  async publishInfo() {
    const sender = this.senders.video;
    const out = { encodings: [], serverActive: this.layersMsg ? [...this.layersMsg.active] : null, codec: '', outbound: [], availableOutgoingBitrate: 0 };
    if (!sender) return out;
    const params = sender.getParameters();
    out.encodings = (params.encodings || []).map((e) => ({
      rid: e.rid || '',
      active: e.active !== false,
      maxBitrate: e.maxBitrate || 0,
      scaleResolutionDownBy: e.scaleResolutionDownBy || 1,
    }));
    if (params.codecs && params.codecs[0]) out.codec = params.codecs[0].mimeType;
    let report;
    try {
      report = await sender.getStats();
    } catch {
      return out;
    }
    report.forEach((r) => {
      // The browser's estimate of its uplink to the media server, which
      // decides how many of the layers it can send.
      if (r.type === 'candidate-pair' && r.nominated && r.availableOutgoingBitrate) out.availableOutgoingBitrate = r.availableOutgoingBitrate;
      if (r.type !== 'outbound-rtp' || (r.kind || r.mediaType) !== 'video') return;
      const codec = r.codecId && report.get(r.codecId);
      if (codec && !out.codec) out.codec = codec.mimeType;
      out.outbound.push({
        rid: r.rid || '',
        ssrc: r.ssrc,
        bytesSent: r.bytesSent || 0,
        packetsSent: r.packetsSent || 0,
        framesEncoded: r.framesEncoded || 0,
        frameWidth: r.frameWidth || 0,
        frameHeight: r.frameHeight || 0,
        active: r.active !== false,
        qualityLimitationReason: r.qualityLimitationReason || '',
      });
    });
    out.outbound.sort((a, b) => a.rid.localeCompare(b.rid));
    return out;
  }

  // transports gives each connection's DTLS/SRTP parameters: {pub, sub},
  // each {srtpCipher, dtlsCipher, tlsVersion, dtlsState, dtlsRole} or null.
  // The DTLS server of a connection chooses its SRTP profile.
  async transports() {
    const one = async (side) => {
      if (!side.pc) return null;
      let report;
      try {
        report = await side.pc.getStats();
      } catch {
        return null;
      }
      let t = null;
      report.forEach((r) => {
        if (r.type === 'transport' && (!t || r.selectedCandidatePairId)) t = r;
      });
      return t ? {
        srtpCipher: t.srtpCipher || '',
        dtlsCipher: t.dtlsCipher || '',
        tlsVersion: t.tlsVersion || '',
        dtlsState: t.dtlsState || '',
        dtlsRole: t.dtlsRole || '',
      } : null;
    };
    return { pub: await one(this.pub), sub: await one(this.sub) };
  }

  // offer sends a publisher offer, or asks for one more after the pending one.
  offer() {
    if (this.offerPending) {
      this.renegotiate = true;
      return;
    }
    this.offerPending = true;
    this.pub.run(async () => {
      const pc = this.pub.pc;
      if (!pc) return;
      try {
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        this.send({ type: 'offer', sdp: pc.localDescription.sdp });
      } catch (err) {
        this.offerPending = false;
        throw err;
      }
    });
  }

  // restartPublisher ICE-restarts the publisher connection with a new offer,
  // after a resume or when it failed. An offer whose answer was lost with
  // the old socket is rolled back first.
  restartPublisher() {
    this.pub.run(async () => {
      const pc = this.pub.pc;
      if (!pc || this.closed) return;
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
      this.offerPending = true;
      try {
        const offer = await pc.createOffer({ iceRestart: true });
        await pc.setLocalDescription(offer);
        this.send({ type: 'offer', sdp: pc.localDescription.sdp });
      } catch (err) {
        this.offerPending = false;
        throw err;
      }
    });
  }

  // active says whether any peer connection exists (something to resume).
  active() {
    return !!(this.pub.pc || this.sub.pc);
  }

  // connectionStates gives each connection's state, or null without one.
  connectionStates() {
    return {
      pub: this.pub.pc ? this.pub.pc.connectionState : null,
      sub: this.sub.pc ? this.sub.pc.connectionState : null,
    };
  }

  // offerRefused handles a `negotiation_failed` error for our offer: roll the
  // offer back and try again a couple of times.
  offerRefused() {
    this.pub.run(async () => {
      const pc = this.pub.pc;
      this.offerPending = false;
      if (!pc || this.closed) return;
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
      this.retries = (this.retries || 0) + 1;
      if (this.retries <= 2) setTimeout(() => !this.closed && this.offer(), 1000 * this.retries);
    });
  }

  // handleAnswer applies the server's answer to our publisher offer.
  handleAnswer(sdp) {
    this.pub.run(async () => {
      const pc = this.pub.pc;
      if (!pc || pc.signalingState !== 'have-local-offer') {
        this.offerPending = false; // a stray answer: nothing is outstanding
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp });
      await this.pub.flush();
      this.offerPending = false;
      this.applyLayers(); // in case a `layers` message came mid-negotiation
      if (this.renegotiate) {
        this.renegotiate = false;
        this.offer();
      }
    });
  }

  // handleOffer answers a server offer on the subscriber connection.
  handleOffer(sdp) {
    this.sub.run(async () => {
      if (this.closed) return;
      const pc = this.sub.pc || this.newSubscriber();
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await this.sub.flush();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.send({ type: 'answer', sdp: pc.localDescription.sdp });
    });
  }

  newSubscriber() {
    const pc = this.newPC(this.sub);
    pc.ontrack = (ev) => {
      const stream = ev.streams && ev.streams[0];
      // streams[0].id is the publisher's participant id (PROTOCOL.md).
      const pid = stream ? stream.id : ev.track.id;
      this.onRemoteTrack(pid, ev.track, stream || null);
    };
    return pc;
  }

  // handleCandidate routes a server ICE candidate to its connection.
  handleCandidate(target, candidate) {
    if (!candidate || typeof candidate !== 'object') return;
    const side = target === 'pub' ? this.pub : target === 'sub' ? this.sub : null;
    if (!side) return;
    side.run(() => side.addCandidate(candidate));
  }

  // replaceTrack swaps the outgoing track of a kind (a new camera, say),
  // adding a transceiver and renegotiating if there was none.
  async replaceTrack(kind, track, stream) {
    const sender = this.senders[kind];
    if (sender) {
      await sender.replaceTrack(track);
      return;
    }
    if (!track || !this.publishing || !this.pub.pc) return;
    this.addSender(this.pub.pc, track, stream);
    this.offer();
  }

  // stats sums video inbound-rtp framesDecoded and packetsReceived over the
  // subscriber connection.
  async stats() {
    let framesDecoded = 0;
    let packetsReceived = 0;
    if (this.sub.pc) {
      const report = await this.sub.pc.getStats();
      report.forEach((r) => {
        if (r.type !== 'inbound-rtp' || (r.kind || r.mediaType) !== 'video') return;
        framesDecoded += r.framesDecoded || 0;
        packetsReceived += r.packetsReceived || 0;
      });
    }
    return { framesDecoded, packetsReceived };
  }

  // inbound lists the video inbound-rtp streams of the subscriber
  // connection: {trackIdentifier, frameWidth, frameHeight, framesDecoded}.
  async inbound() {
    const out = [];
    if (!this.sub.pc) return out;
    const report = await this.sub.pc.getStats();
    report.forEach((r) => {
      if (r.type !== 'inbound-rtp' || (r.kind || r.mediaType) !== 'video') return;
      out.push({
        trackIdentifier: r.trackIdentifier || '',
        frameWidth: r.frameWidth || 0,
        frameHeight: r.frameHeight || 0,
        framesDecoded: r.framesDecoded || 0,
      });
    });
    return out;
  }

  // setIceServers applies fresh ICE servers (an `iceServers` message: new
  // relay credentials) to both connections and to any made later.
  setIceServers(iceServers) {
    this.config = { ...this.config, iceServers: iceServersFor(iceServers, this.relay) };
    for (const side of [this.pub, this.sub]) {
      if (!side.pc) continue;
      try {
        side.pc.setConfiguration({ ...side.pc.getConfiguration(), iceServers: this.config.iceServers });
      } catch (err) {
        console.warn(`gatehouse: ${side.name}: new ICE servers not applied`, err);
      }
    }
  }

  // path describes how the media travels, from the selected candidate
  // pair of the subscriber connection (or the publisher's, before anything
  // is received): {kind: 'direct'|'relay', type, protocol, relayProtocol},
  // or null while nothing is connected.
  async path() {
    const p = await this.paths();
    return p.sub || p.pub;
  }

  // paths gives each connection's path: {pub, sub}. They can differ: ICE
  // on the publisher connection is controlled by the browser, which keeps
  // the best pair by priority; on the subscriber connection by the media
  // server, which takes the first pair that works.
  async paths() {
    const out = { pub: null, sub: null };
    if (this.pub.pc) out.pub = await selectedPath(this.pub.pc);
    if (this.sub.pc) out.sub = await selectedPath(this.sub.pc);
    return out;
  }

  close() {
    this.closed = true;
    this.pub.close();
    this.sub.close();
  }
}

// iceServersFor returns the servers to use: all of them, or with relay set,
// only the TURN URLs of that transport ('any': every TURN URL).
export function iceServersFor(servers, relay) {
  const list = Array.isArray(servers) ? servers : [];
  if (!relay) return list;
  const out = [];
  for (const s of list) {
    const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => relay === 'any' || transportOf(u) === relay);
    if (urls.length) out.push({ ...s, urls });
  }
  return out;
}

// transportOf names a TURN URL's transport: 'udp', 'tcp', 'tls', or '' for
// anything else (STUN).
export function transportOf(url) {
  const u = String(url).toLowerCase();
  if (u.startsWith('turns:')) return 'tls';
  if (!u.startsWith('turn:')) return '';
  return /[?&]transport=tcp\b/.test(u) ? 'tcp' : 'udp';
}

// selectedPath reads a connection's selected candidate pair from getStats.
export async function selectedPath(pc) {
  let report;
  try {
    report = await pc.getStats();
  } catch {
    return null;
  }
  let pair = null;
  report.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId) || pair;
  });
  if (!pair) {
    // Firefox has no transport stats: the nominated, succeeded pair.
    report.forEach((r) => {
      if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
    });
  }
  if (!pair || pair.state !== 'succeeded') return null;
  const local = report.get(pair.localCandidateId);
  const remote = report.get(pair.remoteCandidateId);
  if (!local) return null;
  const type = local.candidateType || '';
  const relayed = type === 'relay' || (remote && remote.candidateType === 'relay');
  return {
    kind: relayed ? 'relay' : 'direct',
    type,
    protocol: local.protocol || '',
    relayProtocol: type === 'relay' ? (local.relayProtocol || '') : '',
  };
}

// describePath puts a path into words for the call screen.
export function describePath(p) {
  if (!p) return 'Connecting…';
  if (p.kind === 'direct') return p.protocol === 'tcp' ? 'Direct connection (TCP)' : 'Direct connection';
  const via = (p.relayProtocol || '').toUpperCase();
  return via ? `Through the relay (${via})` : 'Through the relay';
}
