// The staff booking page: sign in, pick prison, date, call type, slot,
// prisoner and contacts, book, hand out the join links; list the day's
// bookings and cancel them. Times show in the prison's zone (Europe/London).
// Security officers and administrators also get a link to the monitoring
// wall (/monitor).

import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { staffSignIn } from './signin.js';
import { askReason, closeReasonDialog } from './reason-dialog.js';
import { LONDON, zonedTime, zonedISODate, addDays, isoDateLabel } from './time.js';

const $ = (id) => document.getElementById(id);

const ROLE_NAMES = {
  prisoner: 'Prisoner',
  visitor: 'Visitor',
  legal: 'Legal adviser',
  probation: 'Probation officer',
};
const CALL_TYPE_NAMES = { social: 'Social visit', legal: 'Legal call', probation: 'Probation appointment' };
const STATUS_NAMES = {
  requested: 'Requested', booked: 'Booked', completed: 'Completed', cancelled: 'Cancelled',
  no_show: 'No-show', terminated: 'Ended by staff', failed: 'Failed',
};
const ACTIVE = new Set(['requested', 'booked']);
const MAX_SOCIAL_VISITORS = 4;

const data = {
  prisons: [],
  slots: [],
  prisoners: [],
  contacts: [],
  bookings: [],
};
let prisonSeq = 0; // these drop answers to superseded requests
let daySeq = 0;
let staffRole = ''; // the signed-in staff member's role

// --- helpers ----------------------------------------------------------------

function say(text) {
  $('status').textContent = text;
}

function showError(el, err) {
  el.textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  el.hidden = false;
}

function hideError(el) {
  el.hidden = true;
  el.textContent = '';
}

function prison() {
  return data.prisons.find((p) => String(p.id) === $('prison').value) || null;
}

function zone() {
  const p = prison();
  return (p && p.timezone) || LONDON;
}

function callType() {
  const c = document.querySelector('input[name="callType"]:checked');
  return c ? c.value : 'social';
}

function timeRange(b) {
  return `${zonedTime(b.startsAt, zone())}–${zonedTime(b.endsAt, zone())}`;
}

function sameDay(t, iso) {
  return zonedISODate(t, zone()) === iso;
}

function absoluteURL(u) {
  try {
    return new URL(u, window.location.origin).href;
  } catch {
    return u;
  }
}

// --- views ------------------------------------------------------------------

// MONITOR_ROLES may use the monitoring wall.
const MONITOR_ROLES = new Set(['security', 'admin']);

async function showApp(staff) {
  staffRole = staff.role || '';
  $('monitor-link').hidden = !MONITOR_ROLES.has(staffRole);
  say('Loading…');
  try {
    data.prisons = await api.prisons();
  } catch (err) {
    if (err.status === 401) return;
    data.prisons = [];
    showError($('booking-error'), err);
  }
  const select = $('prison');
  select.replaceChildren(...data.prisons.map((p) => new Option(p.name || `Prison ${p.id}`, String(p.id))));
  if (data.prisons.length === 0) {
    select.append(new Option('No prisons available', ''));
    select.disabled = true;
  } else {
    select.disabled = data.prisons.length < 2;
    if (staff.prisonId && data.prisons.some((p) => p.id === staff.prisonId)) select.value = String(staff.prisonId);
  }
  $('date').value = zonedISODate(new Date(), zone());
  await loadPrison();
  say('');
  $('app-title').focus();
}

// --- loading ----------------------------------------------------------------

async function loadPrison() {
  const p = prison();
  const z = zone();
  $('slot-help').textContent = z === LONDON
    ? 'Times are UK time (Europe/London).'
    : `Times are local time at the prison (${z}).`;
  data.prisoners = [];
  data.contacts = [];
  renderPrisoners();
  renderContacts();
  if (!p) return;
  const seq = ++prisonSeq;
  await Promise.all([
    api.prisoners(p.id).then((prisoners) => {
      if (seq !== prisonSeq) return;
      data.prisoners = prisoners;
      renderPrisoners();
      renderContacts();
    }, (err) => {
      if (seq === prisonSeq) showError($('booking-error'), err);
    }),
    loadDay(),
  ]);
}

// loadDay fetches the slots and bookings of the chosen date. It asks for
// [date, date+1] and keeps what starts on the date in the prison's zone, so
// it is right whether the API reads `to` as inclusive or exclusive.
async function loadDay() {
  const p = prison();
  const day = $('date').value;
  if (!p || !day) return;
  const seq = ++daySeq;
  $('bookings-date').textContent = isoDateLabel(day);
  $('slots').replaceChildren(h('p', { class: 'empty' }, 'Loading slots…'));
  const [slots, bookings] = await Promise.allSettled([
    api.slots(p.id, day, addDays(day, 1)),
    api.bookings(p.id, day, addDays(day, 1)),
  ]);
  if (seq !== daySeq) return;
  if (slots.status === 'fulfilled') {
    data.slots = slots.value.filter((s) => sameDay(s.startsAt, day))
      .sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
    renderSlots();
  } else {
    data.slots = [];
    $('slots').replaceChildren(h('p', { class: 'notice notice-error' }, `Could not load slots: ${slots.reason.message}`));
  }
  if (bookings.status === 'fulfilled') {
    data.bookings = bookings.value.filter((b) => sameDay(b.startsAt, day))
      .sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
    renderBookings();
  } else {
    data.bookings = [];
    $('bookings').replaceChildren(h('li', { class: 'notice notice-error' },
      `Could not load bookings: ${bookings.reason.message}`));
  }
}

async function loadContacts() {
  const id = $('prisoner').value;
  data.contacts = [];
  renderContacts();
  if (!id) return;
  const prisoner = data.prisoners.find((p) => String(p.id) === id);
  $('contacts').replaceChildren(h('p', { class: 'empty' }, 'Loading contacts…'));
  try {
    const contacts = await api.contacts(prisoner ? prisoner.id : id);
    if ($('prisoner').value !== id) return;
    data.contacts = contacts;
  } catch (err) {
    showError($('booking-error'), err);
  }
  renderContacts();
}

// --- rendering ----------------------------------------------------------------

function renderSlots() {
  const box = $('slots');
  const ct = callType();
  const previous = (document.querySelector('input[name="slot"]:checked') || {}).value;
  if (data.slots.length === 0) {
    box.replaceChildren(h('p', { class: 'empty' }, 'No slots on this date.'));
    return;
  }
  const now = Date.now();
  // Slots that are over cannot be booked: leave them out, but say so.
  const current = data.slots.filter((s) => Date.parse(s.endsAt) > now);
  const over = data.slots.length - current.length;
  const note = over > 0
    ? h('p', { class: 'hint' }, `${over} earlier ${over === 1 ? 'slot is' : 'slots are'} already over.`)
    : null;
  if (current.length === 0) {
    box.replaceChildren(h('p', { class: 'empty' }, 'All slots on this date are over.'));
    return;
  }
  box.replaceChildren(...[note].filter(Boolean), ...current.map((s) => {
    const types = Array.isArray(s.callTypes) ? s.callTypes : [];
    const allowed = types.length === 0 || types.includes(ct);
    const past = Date.parse(s.endsAt) <= now;
    const full = Number(s.remaining) <= 0;
    // bookable (when the API sends it) covers the booking window too.
    const closed = s.bookable === false;
    const disabled = !allowed || past || full || closed;
    let why = '';
    if (past) why = 'Already over';
    else if (!allowed) why = `Not for ${CALL_TYPE_NAMES[ct].toLowerCase()}s`;
    else if (full) why = 'Full';
    else if (closed) why = 'Cannot be booked now';
    const places = `${s.remaining} of ${s.capacity} ${s.capacity === 1 ? 'place' : 'places'} left`;
    const detail = [s.roomName, places, types.map((t) => CALL_TYPE_NAMES[t] || t).join(', ')]
      .filter(Boolean).join(' · ');
    return h('label', { class: 'choice' },
      h('input', {
        type: 'radio', name: 'slot', value: String(s.id), disabled,
        checked: !disabled && previous === String(s.id),
      }),
      h('span', {},
        h('strong', {}, timeRange(s)), why ? ` — ${why}` : '',
        h('span', { class: 'choice-detail' }, detail)));
  }));
}

function renderPrisoners() {
  const select = $('prisoner');
  const previous = select.value;
  const options = data.prisoners.map((p) => {
    const status = p.status && p.status !== 'active' ? ` (${p.status})` : '';
    const opt = new Option(`${p.name} — ${p.number}${status}`, String(p.id));
    opt.disabled = !!status;
    return opt;
  });
  select.replaceChildren(new Option(data.prisoners.length ? 'Choose a prisoner' : 'No prisoners found', ''), ...options);
  if (previous && data.prisoners.some((p) => String(p.id) === previous)) select.value = previous;
}

function eligibleContacts() {
  const ct = callType();
  return data.contacts.filter((c) => c.approved && !c.banned && c.kind === ct);
}

function renderContacts() {
  const box = $('contacts');
  if (!$('prisoner').value) {
    box.replaceChildren(h('p', { class: 'empty' }, 'Choose a prisoner first.'));
    return;
  }
  const list = eligibleContacts();
  if (list.length === 0) {
    box.replaceChildren(h('p', { class: 'empty' },
      `This prisoner has no approved contacts for a ${CALL_TYPE_NAMES[callType()].toLowerCase()}.`));
    return;
  }
  box.replaceChildren(...list.map((c) => h('label', { class: 'choice' },
    h('input', { type: 'checkbox', name: 'contact', value: String(c.id) }),
    h('span', {}, c.name,
      h('span', { class: 'choice-detail' }, [c.relationship, ageText(c.dateOfBirth)].filter(Boolean).join(' · '))))));
}

// ageText gives "age 34" from a date of birth, or '' when unknown.
function ageText(dob) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(dob || '');
  if (!m || m[1] === '0001') return '';
  const [y, mo, d] = zonedISODate(new Date(), zone()).split('-').map(Number);
  let age = y - Number(m[1]);
  if (mo < Number(m[2]) || (mo === Number(m[2]) && d < Number(m[3]))) age -= 1;
  return age >= 0 && age < 130 ? `age ${age}` : '';
}

function participantLinks(participants) {
  return participants.filter((p) => p.joinUrl).map((p) => {
    const url = absoluteURL(p.joinUrl);
    const input = h('input', {
      type: 'text', value: url, readOnly: true,
      'aria-label': `Join link for ${p.name}`,
    });
    const copy = h('button', { type: 'button', class: 'button button-small' }, 'Copy');
    copy.addEventListener('click', () => copyLink(url, input, copy, p.name));
    return h('li', {},
      h('strong', {}, p.name), ` — ${ROLE_NAMES[p.role] || p.role}`,
      h('div', { class: 'link-row' }, input, copy,
        h('a', {
          class: 'button button-small', href: url, target: '_blank', rel: 'noopener noreferrer',
          'aria-label': `Open the join link for ${p.name} in a new tab`,
        }, 'Open')));
  });
}

function renderBookings() {
  const box = $('bookings');
  if (data.bookings.length === 0) {
    box.replaceChildren(h('li', { class: 'empty' }, 'No bookings on this date.'));
    return;
  }
  const now = Date.now();
  box.replaceChildren(...data.bookings.map((b) => {
    const people = (b.participants || []).map((p) => p.name).filter(Boolean).join(', ');
    const canCancel = ACTIVE.has(b.status) && Date.parse(b.endsAt) > now;
    const links = participantLinks(b.participants || []);
    return h('li', { class: 'booking-item' },
      h('div', { class: 'booking-head' },
        h('strong', {}, timeRange(b)),
        h('span', { class: 'reference-small' }, b.reference),
        h('span', { class: 'status-pill', 'data-status': b.status }, STATUS_NAMES[b.status] || b.status)),
      h('p', { class: 'muted' }, [CALL_TYPE_NAMES[b.callType] || b.callType, people].filter(Boolean).join(' · ')),
      links.length && ACTIVE.has(b.status)
        ? h('details', {}, h('summary', {}, 'Join links'), h('ul', { class: 'links' }, links))
        : null,
      b.callType === 'legal' ? sightOnlyLine(b, canCancel) : null,
      canCancel
        ? h('button', { type: 'button', class: 'button button-small', onclick: () => openCancel(b) },
          'Cancel', h('span', { class: 'visually-hidden' }, ` booking ${b.reference}`))
        : null);
  }));
}

// sightOnlyLine says whether a legal call may be watched (video only) and,
// for security officers and administrators while it is still to come,
// offers to change that.
function sightOnlyLine(b, open) {
  const text = b.sightOnly
    ? `Video-only supervision (in sight, out of hearing) is on. Reason: ${b.sightOnlyReason || 'not given'}.`
    : 'Privileged: never watched, heard or recorded.';
  const button = open && MONITOR_ROLES.has(staffRole)
    ? h('button', { type: 'button', class: 'button button-small', onclick: () => changeSightOnly(b) },
      b.sightOnly ? 'Stop video-only supervision' : 'Allow video-only supervision',
      h('span', { class: 'visually-hidden' }, ` of booking ${b.reference}`))
    : null;
  return h('div', { class: 'sight-only' }, h('p', { class: 'hint' }, text), button);
}

async function copyLink(url, input, button, name) {
  let ok = false;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(url);
      ok = true;
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    input.focus();
    input.select();
    say('Copying is not allowed here: the link is selected, press Ctrl+C (or Cmd+C) to copy it.');
    return;
  }
  button.textContent = 'Copied';
  say(`Join link for ${name} copied.`);
  setTimeout(() => { button.textContent = 'Copy'; }, 2500);
}

// --- actions ----------------------------------------------------------------

async function submitBooking(ev) {
  ev.preventDefault();
  const err = $('booking-error');
  hideError(err);
  const slotInput = document.querySelector('input[name="slot"]:checked');
  const slot = slotInput ? data.slots.find((s) => String(s.id) === slotInput.value) : null;
  const prisoner = data.prisoners.find((p) => String(p.id) === $('prisoner').value);
  const chosen = [...document.querySelectorAll('input[name="contact"]:checked')].map((i) => i.value);
  const contacts = eligibleContacts().filter((c) => chosen.includes(String(c.id)));
  const ct = callType();
  const problems = [];
  if (!slot) problems.push('Choose a time slot.');
  if (!prisoner) problems.push('Choose a prisoner.');
  if (contacts.length === 0) problems.push('Choose at least one person to join the call.');
  if (ct === 'social' && contacts.length > MAX_SOCIAL_VISITORS) {
    problems.push(`At most ${MAX_SOCIAL_VISITORS} visitors can join a social visit.`);
  }
  if (problems.length) {
    showError(err, problems.join(' '));
    return;
  }
  const button = $('book');
  button.disabled = true;
  say('Booking…');
  try {
    const booking = await api.createBooking({
      prisonerId: prisoner.id,
      slotId: slot.id,
      callType: ct,
      contactIds: contacts.map((c) => c.id),
    });
    showResult(booking);
    for (const c of document.querySelectorAll('input[name="contact"]')) c.checked = false;
    await loadDay();
  } catch (e) {
    say('');
    showError(err, e);
    if (e.status === 409) await loadDay(); // capacity changed: show what is left
  } finally {
    button.disabled = false;
  }
}

function showResult(b) {
  $('result-reference').textContent = b.reference || '';
  $('result-when').textContent = `${isoDateLabel(zonedISODate(b.startsAt, zone()))}, ${timeRange(b)} · ${
    CALL_TYPE_NAMES[b.callType] || b.callType || ''}`;
  const links = participantLinks(b.participants || []);
  $('result-links').replaceChildren(...(links.length ? links : [h('li', { class: 'empty' }, 'No join links were returned.')]));
  $('result').hidden = false;
  say(`Call booked. Reference ${b.reference}.`);
  $('result').scrollIntoView({ block: 'start' });
  $('result-title').focus({ preventScroll: true });
}

async function openCancel(b) {
  const done = await askReason({
    title: `Cancel booking ${b.reference}`,
    summary: `${timeRange(b)} · ${(b.participants || []).map((p) => p.name).join(', ')}`,
    confirm: 'Cancel booking',
    dismiss: 'Keep booking',
    danger: true,
    submit: (reason) => api.cancelBooking(b.id, reason),
  });
  if (!done) return;
  say(`Booking ${b.reference} cancelled.`);
  await loadDay();
}

// changeSightOnly turns a legal call's video-only supervision ("in sight,
// out of hearing") on or off, with a reason; security officers and
// administrators only (the API checks).
async function changeSightOnly(b) {
  const on = !b.sightOnly;
  const done = await askReason({
    title: on ? `Allow video-only supervision of call ${b.reference}` : `Stop video-only supervision of call ${b.reference}`,
    summary: on
      ? 'In sight, out of hearing: security officers may watch this legal call from the monitoring wall. '
        + 'Its sound is never sent to them, and it is never recorded. Only do this where the law allows it.'
      : 'The call goes back to full legal privilege: nobody may watch or hear it.',
    confirm: on ? 'Allow video-only supervision' : 'Stop video-only supervision',
    submit: (reason) => api.setSightOnly(b.id, on, reason),
  });
  if (!done) return;
  say(on ? `Video-only supervision of call ${b.reference} allowed.` : `Video-only supervision of call ${b.reference} stopped.`);
  await loadDay();
}

// --- wiring -------------------------------------------------------------------

const signIn = staffSignIn({
  pageTitle: 'Book a video call – Gatehouse staff',
  onSignedIn: showApp,
  onSignedOut: () => {
    closeReasonDialog();
    $('monitor-link').hidden = true;
  },
});

$('booking-form').addEventListener('submit', submitBooking);
$('refresh').addEventListener('click', () => loadDay().then(() => say('Bookings refreshed.')));
$('result-close').addEventListener('click', () => {
  $('result').hidden = true;
  $('app-title').focus();
});
$('prison').addEventListener('change', () => loadPrison());
$('date').addEventListener('change', () => loadDay());
$('prisoner').addEventListener('change', () => loadContacts());
for (const r of document.querySelectorAll('input[name="callType"]')) {
  r.addEventListener('change', () => {
    renderSlots();
    renderContacts();
  });
}

signIn.start();
