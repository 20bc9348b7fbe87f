// The reason dialog: every staff action on a call or a recording (pause,
// mute, end, legal hold, video-only supervision) needs a reason, which the
// audit log keeps. The page holds one <dialog id="reason-dialog"> with
// #reason-form, #reason-title, #reason-summary, #reason-text, #reason-error,
// #reason-confirm and #reason-cancel.

import { explain } from './problems.js';

// Reasons are 3 to 500 characters once trimmed, as the API requires.
export const REASON_MIN = 3;
export const REASON_MAX = 500;

const $ = (id) => document.getElementById(id);

// reasonProblem says what is wrong with a reason, or '' when it will do.
export function reasonProblem(text) {
  const n = String(text || '').trim().length;
  if (n === 0) return 'Enter a reason. It is kept in the audit log.';
  if (n < REASON_MIN) return `The reason is too short: write at least ${REASON_MIN} characters.`;
  if (n > REASON_MAX) return `The reason is too long: write at most ${REASON_MAX} characters.`;
  return '';
}

let current = null; // {submit, resolve} of the open dialog
let busy = false; // submit is running: the dialog stays open

// askReason opens the dialog and resolves true once submit(reason) has
// succeeded (the dialog then closes), or false when the person cancels.
// While submit runs the buttons are disabled; if it throws, the error is
// shown in the dialog and the person may correct the reason or cancel.
//   title    the dialog's heading ("Mute Sarah Price")
//   summary  one line under it saying what will happen
//   confirm  the confirm button's text
//   danger   style the confirm button as destructive
export function askReason({ title, summary, confirm, danger = false, submit }) {
  if (current) finish(false);
  $('reason-title').textContent = title;
  $('reason-summary').textContent = summary || '';
  $('reason-summary').hidden = !summary;
  $('reason-confirm').textContent = confirm;
  $('reason-confirm').className = `button ${danger ? 'button-danger' : 'button-primary'}`;
  $('reason-text').value = '';
  hideError();
  return new Promise((resolve) => {
    current = { submit, resolve };
    $('reason-dialog').showModal();
    $('reason-text').focus();
  });
}

function hideError() {
  $('reason-error').hidden = true;
  $('reason-error').textContent = '';
}

function showError(text) {
  $('reason-error').textContent = text;
  $('reason-error').hidden = false;
}

function finish(ok) {
  const c = current;
  current = null;
  if ($('reason-dialog').open) $('reason-dialog').close();
  if (c) c.resolve(ok);
}

async function onSubmit(ev) {
  ev.preventDefault();
  const c = current;
  if (!c) return;
  hideError();
  const reason = $('reason-text').value.trim();
  const problem = reasonProblem(reason);
  if (problem) {
    showError(problem);
    $('reason-text').focus();
    return;
  }
  busy = true;
  $('reason-confirm').disabled = true;
  $('reason-cancel').disabled = true;
  try {
    await c.submit(reason);
    if (current === c) finish(true);
  } catch (err) {
    if (current === c) showError(explain(err));
  } finally {
    busy = false;
    $('reason-confirm').disabled = false;
    $('reason-cancel').disabled = false;
  }
}

// closeReasonDialog cancels an open dialog (the session ended, say).
export function closeReasonDialog() {
  finish(false);
}

$('reason-form').addEventListener('submit', onSubmit);
$('reason-cancel').addEventListener('click', () => finish(false));
// Escape closes a modal dialog by itself: treat it as cancelling, except
// while the action is being sent (its outcome must be shown).
$('reason-dialog').addEventListener('cancel', (ev) => { if (busy) ev.preventDefault(); });
$('reason-dialog').addEventListener('close', () => { if (current) finish(false); });
