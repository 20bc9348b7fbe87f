// The reason dialog: staff actions that must say why (pausing, muting or
// ending a call, a legal hold, video-only supervision, cancelling a booking)
// ask for a reason here, which the audit log keeps. The dialog is built on
// first use and appended to <main>; its elements keep fixed ids
// (#reason-dialog, #reason-text, #reason-confirm, ...) for tests.

import { h } from './dom.js';
import { explain } from './problems.js';

// Reasons are 3 to 500 characters once trimmed, as the API requires.
export const REASON_MIN = 3;
export const REASON_MAX = 500;

// reasonProblem says what is wrong with a reason, or '' when it will do.
export function reasonProblem(text) {
  const n = String(text || '').trim().length;
  if (n === 0) return 'Enter a reason. It is kept in the audit log.';
  if (n < REASON_MIN) return `The reason is too short: write at least ${REASON_MIN} characters.`;
  if (n > REASON_MAX) return `The reason is too long: write at most ${REASON_MAX} characters.`;
  return '';
}

let ui = null; // the dialog's elements, once built
let current = null; // {submit, resolve} of the open dialog
let busy = false; // submit is running: the dialog stays open

function build() {
  const d = {
    title: h('h2', { id: 'reason-title' }),
    summary: h('p', { id: 'reason-summary' }),
    text: h('textarea', { id: 'reason-text', maxLength: REASON_MAX, required: true, 'aria-describedby': 'reason-help' }),
    error: h('p', { id: 'reason-error', class: 'notice notice-error', role: 'alert', hidden: true }),
    confirm: h('button', { id: 'reason-confirm', type: 'submit', class: 'button button-primary' }),
    dismiss: h('button', { id: 'reason-cancel', type: 'button', class: 'button' }),
  };
  d.form = h('form', { method: 'dialog', noValidate: true },
    d.title,
    d.summary,
    h('div', { class: 'field' },
      h('label', { for: 'reason-text' }, 'Reason'),
      d.text,
      h('p', { id: 'reason-help', class: 'hint' }, `${REASON_MIN} to ${REASON_MAX} characters. Kept in the audit log.`)),
    d.error,
    h('div', { class: 'actions' }, d.confirm, d.dismiss));
  d.dialog = h('dialog', { id: 'reason-dialog', 'aria-labelledby': 'reason-title' }, d.form);
  (document.querySelector('main') || document.body).append(d.dialog);
  d.form.addEventListener('submit', onSubmit);
  d.dismiss.addEventListener('click', () => finish(false));
  // Escape closes a modal dialog by itself: treat it as cancelling, except
  // while the action is being sent (its outcome must be shown).
  d.dialog.addEventListener('cancel', (ev) => { if (busy) ev.preventDefault(); });
  d.dialog.addEventListener('close', () => { if (current) finish(false); });
  return d;
}

// askReason opens the dialog and resolves true once submit(reason) has
// succeeded (the dialog then closes), or false when the person cancels.
// While submit runs the buttons are disabled; if it throws, the error is
// shown in the dialog and the person may correct the reason or cancel.
//   title    the dialog's heading ("Mute Sarah Price")
//   summary  what will happen
//   confirm  the confirm button's text
//   dismiss  the other button's text ("Cancel" unless told)
//   danger   style the confirm button as destructive
export function askReason({ title, summary, confirm, dismiss = 'Cancel', danger = false, submit }) {
  if (!ui) ui = build();
  if (current) finish(false);
  ui.title.textContent = title;
  ui.summary.textContent = summary || '';
  ui.summary.hidden = !summary;
  ui.confirm.textContent = confirm;
  ui.confirm.className = `button ${danger ? 'button-danger' : 'button-primary'}`;
  ui.dismiss.textContent = dismiss;
  ui.text.value = '';
  showError('');
  return new Promise((resolve) => {
    current = { submit, resolve };
    ui.dialog.showModal();
    ui.text.focus();
  });
}

function showError(text) {
  ui.error.textContent = text;
  ui.error.hidden = !text;
}

function finish(ok) {
  const c = current;
  current = null;
  if (ui && ui.dialog.open) ui.dialog.close();
  if (c) c.resolve(ok);
}

async function onSubmit(ev) {
  ev.preventDefault();
  const c = current;
  if (!c) return;
  showError('');
  const reason = ui.text.value.trim();
  const problem = reasonProblem(reason);
  if (problem) {
    showError(problem);
    ui.text.focus();
    return;
  }
  busy = true;
  ui.confirm.disabled = true;
  ui.dismiss.disabled = true;
  try {
    await c.submit(reason);
    if (current === c) finish(true);
  } catch (err) {
    if (current === c) showError(explain(err));
  } finally {
    busy = false;
    ui.confirm.disabled = false;
    ui.dismiss.disabled = false;
  }
}

// closeReasonDialog cancels an open dialog (the session ended, say).
export function closeReasonDialog() {
  finish(false);
}
