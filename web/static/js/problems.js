// Plain words for the booking API's refusals on the monitoring pages. The
// API's problem documents (application/problem+json) carry a stable code
// and a detail written for people; the detail is shown as it is, except
// where the page can say more about what to do.

const byCode = {
  legal_privilege: 'Legal calls are privileged and cannot be monitored.',
};

// explain gives the text to show for a failed request. forbidden, when
// set, replaces the API's words on a 403 without a code of its own above.
export function explain(err, { forbidden = '' } = {}) {
  if (!err) return '';
  if (err.code && byCode[err.code]) return byCode[err.code];
  if (err.status === 403 && forbidden) return forbidden;
  return sentence(err.message || String(err));
}

// sentence starts text with a capital and ends it with a full stop (the
// API's details are written as clauses: "the reason must be ...").
export function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
