// Tiles: one per remote participant, holding their video (always muted, so
// it may autoplay) and their audio in a separate <audio> element (which a
// browser may refuse to autoplay until the person taps "Turn on sound").
// A tile shows up to two lines of text over the picture: a status (such as
// "Reconnecting…") and a note (such as "Muted by staff").

// initials gives up to two letters of a name for a picture's placeholder.
export function initials(name) {
  const words = String(name || '').trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = words[0][0];
  const last = words.length > 1 ? words[words.length - 1][0] : '';
  return (first + last).toUpperCase();
}

export class Tiles {
  // container holds the tiles; nameOf(pid) gives a display name;
  // onSoundBlocked() is called when a browser blocks audio playback;
  // onChange() after a tile appears or disappears. With audio false the
  // tiles have no <audio> element and never play sound (video-only
  // supervision: a received audio track is ignored).
  constructor({ container, nameOf, onSoundBlocked, onChange, audio = true }) {
    this.container = container;
    this.nameOf = nameOf;
    this.onSoundBlocked = onSoundBlocked || (() => {});
    this.onChange = onChange || (() => {});
    this.withAudio = audio;
    this.soundOn = true; // setSound(false) silences every tile
    this.tiles = new Map(); // pid -> {el, video, audio, label, avatar, status, note, tracks:Set}
    this.watched = new WeakSet();
    this.statuses = new Map(); // pid -> text shown over their tile ('' for none)
    this.notes = new Map(); // pid -> second line over their tile ('' for none)
    this.videoHidden = new Set(); // pids whose picture is replaced by their initials
    this.speaking = ''; // pid whose tile shows "Speaking", or ''
    this.featured = ''; // pid in the large tile (speaker layout), or ''
  }

  has(pid) {
    return this.tiles.has(pid);
  }

  // ownerOf gives the participant whose tile holds the track with this id.
  ownerOf(trackId) {
    for (const [pid, t] of this.tiles) {
      for (const x of t.tracks) if (x.id === trackId) return pid;
    }
    return '';
  }

  // tileOf gives a participant's tile elements {el, video}, or null.
  tileOf(pid) {
    const t = this.tiles.get(pid);
    return t ? { el: t.el, video: t.video } : null;
  }

  // setSpeaking marks the loudest speaker's tile ('' for nobody): a border
  // and a "Speaking" label, now or when their tile appears.
  setSpeaking(pid) {
    this.speaking = pid || '';
    for (const [id, t] of this.tiles) this.markSpeaking(id, t);
  }

  markSpeaking(pid, t) {
    const on = pid === this.speaking;
    t.el.classList.toggle('speaking', on);
    t.speakingBadge.hidden = !on;
  }

  // setFeatured shows one participant in the large tile, the others in a
  // row of small ones ('' for an even grid).
  setFeatured(pid) {
    this.featured = pid || '';
    for (const [id, t] of this.tiles) t.el.classList.toggle('featured', id === this.featured);
    this.container.dataset.layout = this.featured && this.tiles.has(this.featured) ? 'speaker' : 'grid';
  }

  get size() {
    return this.tiles.size;
  }

  ids() {
    return [...this.tiles.keys()];
  }

  tile(pid) {
    let t = this.tiles.get(pid);
    if (t) return t;
    const el = document.createElement('figure');
    el.className = 'tile';
    el.dataset.participant = pid;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true;
    video.setAttribute('playsinline', '');
    video.setAttribute('aria-hidden', 'true');
    const avatar = document.createElement('div');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    let audio = null;
    if (this.withAudio) {
      audio = document.createElement('audio');
      audio.autoplay = true;
      audio.muted = !this.soundOn;
    }
    const label = document.createElement('figcaption');
    label.className = 'tile-name';
    const status = document.createElement('p');
    status.className = 'tile-status';
    status.hidden = true;
    const note = document.createElement('p');
    note.className = 'tile-note';
    note.hidden = true;
    const speakingBadge = document.createElement('span');
    speakingBadge.className = 'tile-speaking';
    speakingBadge.textContent = 'Speaking';
    speakingBadge.hidden = true;
    el.append(...[video, avatar, audio, label, speakingBadge, status, note].filter(Boolean));
    this.container.append(el);
    t = { el, video, audio, label, avatar, status, note, speakingBadge, tracks: new Set() };
    this.tiles.set(pid, t);
    this.rename(pid);
    this.showStatus(pid);
    this.showNote(pid);
    this.markSpeaking(pid, t);
    el.classList.toggle('featured', pid === this.featured);
    if (pid === this.featured) this.container.dataset.layout = 'speaker';
    this.onChange();
    return t;
  }

  // setStatus shows text over a participant's tile (now, or when it
  // appears), such as "Reconnecting…"; '' clears it.
  setStatus(pid, text) {
    if (text) this.statuses.set(pid, text);
    else this.statuses.delete(pid);
    this.showStatus(pid);
  }

  showStatus(pid) {
    const t = this.tiles.get(pid);
    if (!t) return;
    const text = this.statuses.get(pid) || '';
    t.status.textContent = text;
    t.status.hidden = !text;
    t.el.classList.toggle('has-status', !!text);
  }

  // setNote shows a second line over a participant's tile (now, or when it
  // appears), such as "Muted by staff"; '' clears it. Unlike statuses,
  // notes outlive clear(): they describe the participant, not our media.
  setNote(pid, text) {
    if (text) this.notes.set(pid, text);
    else this.notes.delete(pid);
    this.showNote(pid);
  }

  showNote(pid) {
    const t = this.tiles.get(pid);
    if (!t) return;
    const text = this.notes.get(pid) || '';
    t.note.textContent = text;
    t.note.hidden = !text;
    t.el.classList.toggle('has-note', !!text);
  }

  // hideVideo shows a participant's initials instead of their picture (their
  // video was paused by staff: the last frame would stay frozen otherwise);
  // kept through clear(), as notes are.
  hideVideo(pid, hide) {
    if (hide) this.videoHidden.add(pid);
    else this.videoHidden.delete(pid);
    this.render(pid);
  }

  // setSound turns every tile's sound on or off (the page's own choice;
  // nothing is sent to the server).
  setSound(on) {
    this.soundOn = !!on;
    for (const t of this.tiles.values()) {
      if (!t.audio) continue;
      t.audio.muted = !this.soundOn;
      if (this.soundOn && t.audio.srcObject) this.playAudio(t.audio);
    }
  }

  // rename refreshes a tile's name label (after participant info arrives).
  rename(pid) {
    const t = this.tiles.get(pid);
    if (!t) return;
    const name = this.nameOf(pid);
    t.label.textContent = name;
    t.avatar.textContent = initials(name);
    t.el.setAttribute('aria-label', name);
  }

  // add places a received track in its participant's tile.
  add(pid, track, stream) {
    const t = this.tile(pid);
    t.tracks.add(track);
    track.addEventListener('ended', () => this.drop(pid, track));
    track.addEventListener('mute', () => this.render(pid));
    track.addEventListener('unmute', () => this.render(pid));
    if (stream && !this.watched.has(stream)) {
      this.watched.add(stream);
      stream.addEventListener('removetrack', (ev) => this.drop(pid, ev.track));
    }
    this.render(pid);
  }

  // drop removes one track; the tile goes when it has none left.
  drop(pid, track) {
    const t = this.tiles.get(pid);
    if (!t || !t.tracks.delete(track)) return;
    if (t.tracks.size === 0) this.remove(pid);
    else this.render(pid);
  }

  render(pid) {
    const t = this.tiles.get(pid);
    if (!t) return;
    const live = (kind) => [...t.tracks].filter((x) => x.kind === kind && x.readyState === 'live');
    const videos = live('video');
    const audios = live('audio');
    setTracks(t.video, videos);
    if (t.audio) setTracks(t.audio, audios);
    const showingVideo = videos.some((v) => !v.muted) && !this.videoHidden.has(pid);
    t.el.classList.toggle('no-video', !showingVideo);
    if (videos.length) t.video.play().catch(() => {});
    if (t.audio && audios.length) this.playAudio(t.audio);
  }

  playAudio(audio) {
    const p = audio.play();
    if (p && p.catch) {
      p.catch((err) => {
        if (err && err.name === 'NotAllowedError') this.onSoundBlocked();
      });
    }
  }

  // resumeSound retries audio playback after a user gesture.
  resumeSound() {
    for (const t of this.tiles.values()) {
      if (t.audio && t.audio.srcObject) this.playAudio(t.audio);
    }
  }

  remove(pid) {
    const t = this.tiles.get(pid);
    if (!t) return;
    t.video.srcObject = null;
    if (t.audio) t.audio.srcObject = null;
    t.el.remove();
    this.tiles.delete(pid);
    if (pid === this.featured) this.container.dataset.layout = 'grid';
    this.onChange();
  }

  clear() {
    for (const pid of [...this.tiles.keys()]) this.remove(pid);
    this.statuses.clear();
  }
}

// setTracks points a media element at exactly these tracks, only touching
// srcObject when they changed (a reassignment restarts playback).
function setTracks(el, tracks) {
  const cur = el.srcObject ? el.srcObject.getTracks() : [];
  const same = cur.length === tracks.length && cur.every((x) => tracks.includes(x));
  if (same) return;
  el.srcObject = tracks.length ? new MediaStream(tracks) : null;
}
