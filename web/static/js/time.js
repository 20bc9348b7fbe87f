// Time formatting shared by the pages. Staff pages show Europe/London wall
// clock time (the time the prison runs on, DST included); the join page
// shows the visitor's own local time.

export const LONDON = 'Europe/London';

const formats = new Map();
function fmt(zone, opts) {
  const key = zone + JSON.stringify(opts);
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, ...opts });
    formats.set(key, f);
  }
  return f;
}

// zonedTime formats an RFC 3339 string or Date as HH:MM in zone
// (Europe/London unless told).
export function zonedTime(t, zone = LONDON) {
  return fmt(zone, { hour: '2-digit', minute: '2-digit' }).format(new Date(t));
}

// zonedISODate returns YYYY-MM-DD of the calendar day in zone containing t
// (default now).
export function zonedISODate(t = new Date(), zone = LONDON) {
  const parts = {};
  for (const p of fmt(zone, { year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(t))) {
    parts[p.type] = p.value;
  }
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// addDays shifts a YYYY-MM-DD date by n calendar days.
export function addDays(iso, n) {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

// isoDateLabel formats a YYYY-MM-DD string for headings ("Monday 3 March 2026")
// without a time zone shift.
export function isoDateLabel(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
  }).format(new Date(Date.UTC(y, m - 1, d)));
}

const localTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const localDate = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });

// localTimeOf formats t as the viewer's local time of day.
export function localTimeOf(t) {
  return localTime.format(new Date(t));
}

// localDateOf formats t as the viewer's local day ("Monday 3 March").
export function localDateOf(t) {
  return localDate.format(new Date(t));
}

// countdown formats a duration in milliseconds as "1:02:03" or "4:05".
export function countdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// spokenDuration formats a duration for people and screen readers:
// "1 hour 5 minutes", "4 minutes", "less than a minute".
export function spokenDuration(ms) {
  const minutes = Math.floor(Math.max(0, ms) / 60000);
  if (minutes < 1) return 'less than a minute';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const parts = [];
  if (h) parts.push(`${h} ${h === 1 ? 'hour' : 'hours'}`);
  if (m) parts.push(`${m} ${m === 1 ? 'minute' : 'minutes'}`);
  return parts.join(' ');
}
