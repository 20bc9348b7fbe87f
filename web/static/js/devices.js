// Camera and microphone: capture, device pickers, switching devices and the
// microphone level meter of the device check.

const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
// 720p where the camera has it, so that the camera can be published as
// three simulcast layers (simulcast.js: browsers allow three only from about
// 960x540). Nobody has to receive all of it: prison and family networks are
// often slow, and the media server sends each viewer the 180p or 360p layer
// when that is what their network (or tile) takes; the sending browser drops
// its top layers by itself when its own uplink is slow.
const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 24, max: 30 } };

// DeviceError carries a plain-English message for the device check.
export class DeviceError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function explain(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new DeviceError('denied', 'Your browser is not allowing this page to use the camera and microphone. ' +
      'Allow them in the browser settings (often the camera icon in the address bar), then reload the page.');
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return new DeviceError('missing', 'No camera or microphone was found. You can still join, but the others ' +
      'will not see or hear you.');
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return new DeviceError('busy', 'The camera or microphone is being used by another app. Close that app, ' +
      'then reload this page.');
  }
  return new DeviceError('unknown', 'The camera and microphone could not be started. You can still join, ' +
    'but the others may not see or hear you.');
}

// Devices holds the local MediaStream (at most one audio and one video track)
// and keeps the pickers and level meter in step with it. onTrack(kind, track)
// is called whenever a track is replaced, so a live call can swap it in.
export class Devices {
  constructor({ video, cameraSelect, micSelect, meterBar, onTrack }) {
    this.views = new Set([video]);
    this.cameraSelect = cameraSelect;
    this.micSelect = micSelect;
    this.meterBar = meterBar;
    this.onTrack = onTrack || (() => {});
    this.stream = new MediaStream();
    this.enabled = { audio: true, video: true };
    this.audioCtx = null;
    this.meterSource = null;
    this.meterFrame = 0;
    this.stopped = false;

    cameraSelect.addEventListener('change', () => this.switchDevice('video', cameraSelect.value));
    micSelect.addEventListener('change', () => this.switchDevice('audio', micSelect.value));
  }

  // supported reports whether this page may capture media at all (it needs a
  // secure context: https, or localhost).
  static supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  // start asks for camera and microphone. It resolves with null when both or
  // one of them work, or with a DeviceError explaining what is missing; it
  // never rejects, so that a visitor without a camera can still join.
  async start() {
    if (!Devices.supported()) {
      this.disablePickers();
      return new DeviceError('unsupported', window.isSecureContext === false
        ? 'This page was not opened over a secure (https) connection, so the browser will not let it use the ' +
          'camera and microphone. Open the join link exactly as you received it.'
        : 'This browser cannot use a camera and microphone. Please try a current version of Chrome, Edge, ' +
          'Firefox or Safari.');
    }
    let problem = null;
    let stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: VIDEO });
    } catch (err) {
      problem = explain(err);
      // One of the two may still work on its own.
      if (problem.kind !== 'denied') {
        for (const c of [{ audio: AUDIO }, { video: VIDEO }]) {
          try {
            stream = await navigator.mediaDevices.getUserMedia(c);
            problem = new DeviceError('partial', c.audio
              ? 'No camera was found: the others will hear you but not see you.'
              : 'No microphone was found: the others will see you but not hear you.');
            break;
          } catch {
            // try the next one
          }
        }
      }
    }
    if (this.stopped) {
      if (stream) stream.getTracks().forEach((t) => t.stop());
      return problem;
    }
    if (stream) {
      for (const t of stream.getTracks()) this.stream.addTrack(t);
      this.refreshViews();
      this.startMeter();
    }
    await this.populate();
    navigator.mediaDevices.addEventListener('devicechange', () => this.populate());
    return problem;
  }

  // attach shows the local camera in another (muted) video element too.
  attach(video) {
    this.views.add(video);
    this.refreshViews();
  }

  refreshViews() {
    const tracks = this.stream.getVideoTracks();
    for (const v of this.views) {
      // A fresh stream object makes every browser pick up a swapped track.
      v.srcObject = tracks.length ? new MediaStream(tracks) : null;
      if (tracks.length) v.play().catch(() => {});
    }
  }

  track(kind) {
    return kind === 'audio' ? this.stream.getAudioTracks()[0] : this.stream.getVideoTracks()[0];
  }

  disablePickers() {
    for (const s of [this.cameraSelect, this.micSelect]) {
      s.replaceChildren(new Option('Not available', ''));
      s.disabled = true;
    }
  }

  // populate fills the pickers from enumerateDevices, selecting the devices
  // in use. Labels are only known once permission has been given.
  async populate() {
    let list = [];
    try {
      list = await navigator.mediaDevices.enumerateDevices();
    } catch {
      // leave the pickers empty
    }
    this.fill(this.cameraSelect, list.filter((d) => d.kind === 'videoinput'), 'video', 'Camera');
    this.fill(this.micSelect, list.filter((d) => d.kind === 'audioinput'), 'audio', 'Microphone');
  }

  fill(select, devices, kind, noun) {
    const current = this.track(kind);
    const currentId = current && current.getSettings ? current.getSettings().deviceId : '';
    const options = devices.filter((d) => d.deviceId).map((d, i) => new Option(d.label || `${noun} ${i + 1}`, d.deviceId));
    if (options.length === 0) {
      select.replaceChildren(new Option(current ? current.label || `${noun} 1` : `No ${noun.toLowerCase()} found`, ''));
      select.disabled = true;
      return;
    }
    select.replaceChildren(...options);
    select.disabled = options.length < 2 && !!current;
    if (currentId) select.value = currentId;
  }

  // switchDevice replaces the track of kind with one from deviceId.
  async switchDevice(kind, deviceId) {
    if (!deviceId) return;
    const old = this.track(kind);
    if (old && old.getSettings && old.getSettings().deviceId === deviceId) return;
    const base = kind === 'audio' ? AUDIO : VIDEO;
    // Stop the old track first: phones often cannot open two cameras at once.
    if (old) {
      old.stop();
      this.stream.removeTrack(old);
    }
    let track = null;
    try {
      const s = await navigator.mediaDevices.getUserMedia({ [kind]: { ...base, deviceId: { exact: deviceId } } });
      track = kind === 'audio' ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
    } catch (err) {
      console.warn('gatehouse: switching', kind, 'failed', err);
      try {
        const s = await navigator.mediaDevices.getUserMedia({ [kind]: base });
        track = kind === 'audio' ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
      } catch {
        track = null;
      }
    }
    if (this.stopped) {
      if (track) track.stop();
      return;
    }
    if (track) {
      track.enabled = this.enabled[kind];
      this.stream.addTrack(track);
    }
    if (kind === 'audio') this.startMeter();
    else this.refreshViews();
    this.onTrack(kind, track);
    await this.populate();
  }

  // setEnabled mutes or unmutes a kind; the track keeps flowing (silence or
  // black frames), so nothing needs renegotiating.
  setEnabled(kind, on) {
    this.enabled[kind] = on;
    const t = this.track(kind);
    if (t) t.enabled = on;
  }

  // resumeAudio starts the meter's AudioContext after a user gesture.
  resumeAudio() {
    if (this.audioCtx && this.audioCtx.state === 'suspended') this.audioCtx.resume().catch(() => {});
  }

  startMeter() {
    const track = this.track('audio');
    if (this.meterSource) {
      this.meterSource.disconnect();
      this.meterSource = null;
    }
    cancelAnimationFrame(this.meterFrame);
    this.setLevel(0);
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!track || !Ctx) return;
    try {
      if (!this.audioCtx) this.audioCtx = new Ctx();
      this.meterSource = this.audioCtx.createMediaStreamSource(new MediaStream([track]));
      const analyser = this.audioCtx.createAnalyser();
      analyser.fftSize = 1024;
      this.meterSource.connect(analyser);
      const buf = new Float32Array(analyser.fftSize);
      let smooth = 0;
      const tick = () => {
        analyser.getFloatTimeDomainData(buf);
        let sum = 0;
        for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
        const rms = Math.sqrt(sum / buf.length);
        // Map roughly -60..0 dBFS onto 0..1, with a gentle decay.
        const db = rms > 0 ? 20 * Math.log10(rms) : -100;
        const level = Math.min(1, Math.max(0, (db + 60) / 60));
        smooth = Math.max(level, smooth * 0.9);
        this.setLevel(track.enabled ? smooth : 0);
        this.meterFrame = requestAnimationFrame(tick);
      };
      tick();
    } catch (err) {
      console.warn('gatehouse: level meter unavailable', err);
    }
  }

  setLevel(level) {
    // CSSOM writes are allowed under the page's CSP (style attributes are not).
    this.meterBar.style.transform = `scaleX(${level.toFixed(3)})`;
  }

  // stop releases camera and microphone (the camera light goes off).
  stop() {
    this.stopped = true;
    cancelAnimationFrame(this.meterFrame);
    for (const t of this.stream.getTracks()) t.stop();
    if (this.audioCtx) this.audioCtx.close().catch(() => {});
    this.audioCtx = null;
    for (const v of this.views) v.srcObject = null;
  }
}
