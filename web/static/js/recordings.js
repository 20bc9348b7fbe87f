// Recordings on the monitoring wall: the list of finished calls' recordings
// (GET /api/v1/recordings), one recording with its files played in step
// (playback.js) and the staff actions on its timeline, downloads (a
// separate permission) and the legal hold, set and released with a reason.
//
// The manifest is the media server's record of the files (package
// recording): for each file its name, participant, kind, codec, SHA-256,
// size, start offset from the call's start and duration. It names
// participants by id; their names come from the booking.

import { api, fetchBlob, recordingFileURL } from './api.js';
import { h } from './dom.js';
import { LONDON, zonedTime, zonedISODate, addDays, isoDateLabel } from './time.js';
import { askReason } from './reason-dialog.js';
import { explain } from './problems.js';
import { SyncPlayer, clock } from './playback.js';

const $ = (id) => document.getElementById(id);

const CALL_TYPE_NAMES = { social: 'Social visit', legal: 'Legal call', probation: 'Probation appointment' };
const STATUS_NAMES = { recording: 'Recording now', complete: 'Complete', failed: 'Failed', deleted: 'Deleted' };
const ACTION_NAMES = {
  pause_video: 'Paused the video of',
  resume_video: 'Resumed the video of',
  mute: 'Muted',
  unmute: 'Unmuted',
  end: 'Ended the call',
};
const DOWNLOAD_FORBIDDEN = 'You need the permission to download recordings. An administrator can give it to you.';
// DAYS_SHOWN: the list shows this many days up to today at first.
const DAYS_SHOWN = 7;

function dateTime(t) {
  if (!t) return '';
  return `${isoDateLabel(zonedISODate(t, LONDON))}, ${zonedTime(t, LONDON)}`;
}

const CODEC_NAMES = { vp8: 'VP8', vp9: 'VP9', h264: 'H.264', opus: 'Opus' };

function sizeText(bytes) {
  const n = Number(bytes) || 0;
  if (n <= 0) return '';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1e3))} kB`;
}

// manifestFiles reads the manifest's files (package recording's Manifest:
// {startedAt, endedAt, files: [{name, participantId, kind, codec, sha256,
// bytes, startOffsetMs, durationMs, ...}]}) into the player's shape;
// names(pid) gives a participant's name.
export function manifestFiles(manifest, names) {
  const list = (manifest && Array.isArray(manifest.files)) ? manifest.files : [];
  return list.filter((f) => f && f.name).map((f) => ({
    name: String(f.name),
    participantId: String(f.participantId || ''),
    label: names(String(f.participantId || '')),
    kind: f.kind === 'audio' ? 'audio' : 'video',
    codec: String(f.codec || ''),
    sha256: String(f.sha256 || ''),
    bytes: Number(f.bytes) || 0,
    startOffsetMs: Number(f.startOffsetMs) || 0,
    durationMs: Number(f.durationMs) || 0,
    error: String(f.error || ''),
  }));
}

// callStart is the time on the timeline's zero: the recording's start as
// the booking service stored it, from the same clock as the staff actions'
// times (the manifest's startedAt, the same moment, if it is missing).
function callStart(rec) {
  const stored = Date.parse(rec.startedAt);
  return Number.isNaN(stored) ? Date.parse(rec.manifest && rec.manifest.startedAt) : stored;
}

export class RecordingsView {
  constructor({ announce }) {
    this.announce = announce;
    this.staff = {};
    this.player = null;
    this.openId = 0;
    this.listLoaded = false;
    this.seq = 0; // drops answers to superseded requests
    $('recordings-filter').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.loadList();
    });
  }

  setStaff(staff) {
    this.staff = staff || {};
    this.listLoaded = false;
  }

  // --- the list

  showList() {
    if (!$('recordings-from').value) {
      const today = zonedISODate(new Date(), LONDON);
      $('recordings-from').value = addDays(today, -DAYS_SHOWN);
      $('recordings-to').value = today;
    }
    if (!this.listLoaded) this.loadList();
  }

  async loadList() {
    const from = $('recordings-from').value;
    const to = $('recordings-to').value;
    const err = $('recordings-error');
    err.hidden = true;
    if (!from || !to || from > to) {
      err.textContent = 'Choose a start date on or before the end date.';
      err.hidden = false;
      return;
    }
    const seq = ++this.seq;
    let list;
    try {
      // Both dates are included (prison's days).
      list = await api.recordings(from, to);
    } catch (e) {
      if (seq !== this.seq || e.status === 401) return;
      err.textContent = `Could not load the recordings. ${explain(e)}`;
      err.hidden = false;
      return;
    }
    if (seq !== this.seq) return;
    this.listLoaded = true;
    list.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
    $('recordings-caption').textContent = `Recordings from ${isoDateLabel(from)} to ${isoDateLabel(to)}`;
    $('recordings-body').replaceChildren(...list.map((r) => this.row(r)));
    $('recordings-table').hidden = list.length === 0;
    $('recordings-empty').hidden = list.length > 0;
    this.announce(list.length === 1 ? '1 recording.' : `${list.length} recordings.`);
  }

  row(r) {
    const ref = r.reference || `#${r.bookingId}`;
    const state = [STATUS_NAMES[r.status] || r.status];
    if (r.held) state.push('Legal hold');
    const kept = r.held ? 'Until the hold is released' : (r.status === 'deleted' ? '' : dateOnly(r.deleteAfter));
    return h('tr', { 'data-recording': String(r.id) },
      h('th', { scope: 'row' }, h('span', { class: 'reference-small' }, ref)),
      h('td', {}, CALL_TYPE_NAMES[r.callType] || r.callType || ''),
      h('td', {}, dateTime(r.startedAt)),
      h('td', {}, r.endedAt ? zonedTime(r.endedAt, LONDON) : ''),
      h('td', {}, state.join(' · ')),
      h('td', {}, kept),
      h('td', {}, r.status === 'deleted' ? ''
        : h('a', { href: `#recording=${r.id}` }, 'Open', h('span', { class: 'visually-hidden' }, ` the recording of call ${ref}`))));
  }

  // --- one recording

  async showOne(id) {
    this.close();
    this.openId = id;
    const seq = ++this.seq;
    const err = $('recording-error');
    err.hidden = true;
    $('recording-title').textContent = 'Recording';
    $('recording-summary').textContent = 'Loading…';
    $('recording-hold').replaceChildren();
    $('recording-actions').replaceChildren();
    $('recording-files').replaceChildren();
    $('player').hidden = true;
    let rec;
    let people = [];
    try {
      rec = await api.recording(id);
      // The manifest names participants by id; the booking has their names
      // (best effort: without it the page says "Participant" and the id).
      const b = await api.booking(rec.bookingId).catch(() => null);
      people = (b && b.participants) || [];
    } catch (e) {
      if (seq !== this.seq || e.status === 401) return;
      $('recording-summary').textContent = '';
      err.textContent = `Could not open the recording. ${explain(e)}`;
      err.hidden = false;
      return;
    }
    if (seq !== this.seq) return;
    this.render(rec, people);
    $('recording-title').focus();
  }

  render(rec, people) {
    const ref = rec.reference || `#${rec.bookingId}`;
    $('recording-title').textContent = `Recording of call ${ref}`;
    const ended = rec.endedAt ? `–${zonedTime(rec.endedAt, LONDON)}` : '';
    $('recording-summary').textContent = [
      CALL_TYPE_NAMES[rec.callType] || rec.callType,
      `${dateTime(rec.startedAt)}${ended} UK time`,
      STATUS_NAMES[rec.status] || rec.status,
    ].filter(Boolean).join(' · ');
    if (rec.status === 'failed') {
      $('recording-error').textContent = `The recording of this call failed${rec.failure ? ` (${rec.failure})` : ''}. `
        + 'What was written before the failure is below.';
      $('recording-error').hidden = false;
    }
    this.renderHold(rec);
    const known = new Map(people.filter((p) => p && p.id).map((p) => [p.id, p.name || '']));
    const names = (pid) => known.get(pid) || `Participant ${pid.slice(0, 6)}`;
    // By person, each person's video before their sound.
    const files = manifestFiles(rec.manifest, names)
      .map((f) => ({ ...f, url: recordingFileURL(rec.id, f.name) }))
      .sort((a, b) => a.label.localeCompare(b.label) || b.kind.localeCompare(a.kind) || a.name.localeCompare(b.name));
    const start = callStart(rec);
    const actions = (rec.actions || []).map((a) => ({
      ...a,
      atMs: Math.max(0, Date.parse(a.at) - start) || 0,
      text: actionText(a, names),
    }));
    this.renderActions(actions);
    this.renderFiles(rec, files);
    if (files.length && rec.status !== 'deleted') {
      $('player').hidden = false;
      this.player = new SyncPlayer({
        stage: $('player-stage'),
        playButton: $('player-play'),
        seek: $('player-seek'),
        timeLabel: $('player-time'),
        markersEl: $('player-markers'),
        stateEl: $('player-state'),
        files,
        markers: actions.map((a) => ({ atMs: a.atMs, text: a.text })),
      });
    }
  }

  renderHold(rec) {
    const box = $('recording-hold');
    if (rec.status === 'deleted') {
      box.replaceChildren(h('p', {}, 'This recording has been deleted.'));
      return;
    }
    const text = rec.held
      ? `Legal hold: this recording is kept until the hold is released.${rec.holdReason ? ` Reason: ${rec.holdReason}` : ''}`
      : `This recording is deleted on ${dateOnly(rec.deleteAfter) || 'the end of its retention period'} unless a legal hold keeps it.`;
    const button = h('button', {
      type: 'button', class: 'button button-small',
      onclick: () => this.changeHold(rec),
    }, rec.held ? 'Release the legal hold' : 'Place a legal hold');
    box.replaceChildren(h('p', {}, text), button);
  }

  async changeHold(rec) {
    const ref = rec.reference || `#${rec.bookingId}`;
    const release = !!rec.held;
    const done = await askReason({
      title: release ? `Release the legal hold on call ${ref}` : `Place a legal hold on call ${ref}`,
      summary: release
        ? 'Without the hold the recording is deleted at the end of its retention period (at once, if that has passed).'
        : 'The recording will be kept past its retention period until the hold is released.',
      confirm: release ? 'Release the hold' : 'Place the hold',
      submit: (reason) => (release ? api.releaseRecording(rec.id, reason) : api.holdRecording(rec.id, reason)),
    });
    if (!done) return;
    this.announce(release ? `Legal hold on call ${ref} released.` : `Legal hold placed on call ${ref}.`);
    this.listLoaded = false;
    if (this.openId === rec.id) this.showOne(rec.id);
  }

  renderActions(actions) {
    const list = $('recording-actions');
    if (actions.length === 0) {
      list.replaceChildren(h('li', { class: 'empty' }, 'No staff actions on this call.'));
      return;
    }
    list.replaceChildren(...actions.map((a) => h('li', {},
      h('button', {
        type: 'button', class: 'link-button',
        'aria-label': `Go to ${clock(a.atMs)} in the recording`,
        onclick: () => this.player && this.player.seekTo(a.atMs),
      }, clock(a.atMs)),
      ` ${a.text}`)));
  }

  renderFiles(rec, files) {
    $('download-hint').hidden = this.staff.downloadRecordings !== false;
    if (rec.status === 'deleted' || files.length === 0) {
      $('recording-files').replaceChildren(h('li', { class: 'empty' }, 'No files.'));
      return;
    }
    $('recording-files').replaceChildren(...files.map((f) => {
      const codec = CODEC_NAMES[f.codec.toLowerCase()] || f.codec;
      const what = `${f.label} – ${f.kind}${codec ? ` (${codec})` : ''}`;
      const error = h('p', { class: 'notice notice-error', role: 'alert', hidden: true });
      const button = h('button', { type: 'button', class: 'button button-small' },
        'Download', h('span', { class: 'visually-hidden' }, ` ${what}`));
      button.addEventListener('click', () => this.download(rec, f, button, error));
      return h('li', { class: 'file' },
        h('p', {}, h('strong', {}, what),
          [sizeText(f.bytes), `starts at ${clock(f.startOffsetMs)}${f.durationMs ? `, lasts ${clock(f.durationMs)}` : ''}`]
            .filter(Boolean).map((x) => ` · ${x}`).join('')),
        f.sha256 ? h('p', { class: 'hint' }, 'SHA-256 ', h('code', { class: 'hash' }, f.sha256)) : null,
        f.error ? h('p', { class: 'notice notice-warning' }, `This file is incomplete: ${f.error}`) : null,
        button, error);
    }));
  }

  // download fetches a file with ?download=1 (audited; needs the
  // permission) and hands it to the browser to save.
  async download(rec, f, button, error) {
    error.hidden = true;
    button.disabled = true;
    this.announce(`Preparing the download of ${f.name}…`);
    try {
      const { blob, name } = await fetchBlob(recordingFileURL(rec.id, f.name, true), f.name);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      this.announce(`${name} downloaded.`);
    } catch (e) {
      if (e.status === 401) return;
      error.textContent = explain(e, { forbidden: DOWNLOAD_FORBIDDEN });
      error.hidden = false;
      this.announce('');
    } finally {
      button.disabled = false;
    }
  }

  close() {
    this.seq += 1;
    this.openId = 0;
    if (this.player) this.player.destroy();
    this.player = null;
  }

  snapshot() {
    return this.player ? this.player.snapshot() : null;
  }
}

function dateOnly(t) {
  if (!t) return '';
  return isoDateLabel(zonedISODate(t, LONDON));
}

// actionText puts a staff action into words: "Muted Sarah Price – by Demo
// Security Officer: “shouting”".
function actionText(a, names) {
  const verb = ACTION_NAMES[a.action] || a.action;
  const who = a.action === 'end' || !a.participantId ? '' : ` ${names(a.participantId)}`;
  const by = a.staffName || '';
  return `${verb}${who}${by ? ` – by ${by}` : ''}${a.reason ? `: “${a.reason}”` : ''}`;
}
