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
// order they arrived, and candidates wait until a remote description is set.

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
    if (!this.pc || !this.pc.remoteDescription) {
      this.pending.push(init);
      return;
    }
    await addIce(this.pc, init);
  }

  async flush() {
    const list = this.pending;
    this.pending = [];
    for (const c of list) await addIce(this.pc, c);
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

async function addIce(pc, init) {
  try {
    await pc.addIceCandidate(init);
  } catch (err) {
    // A candidate for an old ICE generation, or one the browser cannot use:
    // not fatal, others will do.
    console.warn('gatehouse: ignoring ICE candidate', init && init.candidate, err);
  }
}

// CallMedia runs both peer connections of one signalling session. send(msg)
// writes a protocol message; onRemoteTrack(participantId, track, stream) gets
// every received track; onFailed(target) reports a connection that ICE could
// not keep up.
export class CallMedia {
  constructor({ iceServers, send, onRemoteTrack, onFailed }) {
    this.config = { iceServers: Array.isArray(iceServers) ? iceServers : [], bundlePolicy: 'max-bundle' };
    this.send = send;
    this.onRemoteTrack = onRemoteTrack;
    this.onFailed = onFailed || (() => {});
    this.pub = new Side('pub');
    this.sub = new Side('sub');
    this.senders = { audio: null, video: null };
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
      if (pc.connectionState === 'failed' && !this.closed) this.onFailed(side.name);
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
    for (const track of stream.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      this.senders[track.kind] = t.sender;
    }
    if (pc.getTransceivers().length > 0) this.offer();
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
    const t = this.pub.pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    this.senders[kind] = t.sender;
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

  close() {
    this.closed = true;
    this.pub.close();
    this.sub.close();
  }
}
