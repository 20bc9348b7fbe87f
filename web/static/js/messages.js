// Plain-English texts for the signalling protocol's error codes and `ended`
// reasons (signalling/PROTOCOL.md). Visitors include children and people
// under stress: say what happened and what to do next, never a code alone.

const errorTexts = {
  too_early: {
    title: 'Your visit room is not open yet',
    text: 'Your visit room opens 10 minutes before the start time. Please try again then.',
    retry: true,
  },
  token_expired: {
    title: 'This join link has expired',
    text: 'The link can no longer be used. Please ask the person who booked the visit for a new link.',
  },
  token_invalid: {
    title: 'This join link does not work',
    text: 'The link may be incomplete or mistyped. Open it again from the message you were sent, ' +
      'making sure you copy the whole link.',
  },
  call_ended: {
    title: 'This visit has ended',
    text: 'The booked time for this visit has passed.',
  },
  booking_cancelled: {
    title: 'This visit was cancelled',
    text: 'The visit is no longer booked. If you think this is a mistake, contact the prison.',
  },
  booking_not_found: {
    title: 'We could not find this visit',
    text: 'It may have been cancelled. If you think this is a mistake, contact the prison.',
  },
  version_unsupported: {
    title: 'Please reload this page',
    text: 'The visit service has been updated. Reloading the page will fix this.',
    reload: true,
  },
  join_timeout: {
    title: 'Connecting took too long',
    text: 'Please check your internet connection and try again.',
    retry: true,
  },
  too_many_errors: {
    title: 'Something went wrong',
    text: 'The connection was closed after repeated errors. Please reload the page to try again.',
    reload: true,
  },
  too_many_reconnects: {
    title: 'Your connection keeps dropping',
    text: 'The connection to your visit dropped many times in a minute. Wait a minute, then try again.',
    retry: true,
  },
  internal: {
    title: 'Something went wrong on our side',
    text: 'It is not your fault. Please try again in a moment.',
    retry: true,
  },
};

const fallbackError = {
  title: 'We could not connect you',
  text: 'Please try again. If this keeps happening, contact the prison.',
  retry: true,
};

// errorInfo returns {title, text, retry?, reload?} for a fatal error code.
export function errorInfo(code) {
  return errorTexts[code] || fallbackError;
}

const endedTexts = {
  time: 'The booked time is over, so the visit has finished.',
  left: 'You left the visit.',
  replaced: 'You joined this visit from another window or device, so it was closed here.',
  cancelled: 'The visit was cancelled.',
  shutdown: 'The visit service is restarting. You can try to join again in a moment.',
  staff: 'The call was ended by prison staff.',
};

// endedText explains an `ended` reason.
export function endedText(reason) {
  return endedTexts[reason] || 'The visit has finished.';
}

// canRejoin says whether offering "Join again" makes sense after an `ended`
// reason (while the booked end time has not passed).
export function canRejoin(reason) {
  return reason === 'left' || reason === 'replaced' || reason === 'shutdown';
}
