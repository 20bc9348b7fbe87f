// A tiny element builder, so that pages never assemble HTML from strings
// (no injection through names or notes) and need no inline handlers.

// h(tag, props, ...children): props are set as properties, except "class",
// "for", "aria-*", "data-*" and "role", which are set as attributes; false
// and null props are skipped; children may be strings, nodes or arrays.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'for') el.htmlFor = v;
    else if (k.startsWith('aria-') || k.startsWith('data-') || k === 'role') el.setAttribute(k, String(v));
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el[k] = v;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}
