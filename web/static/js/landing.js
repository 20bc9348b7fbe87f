// The landing page's connection information: what this browser supports.

import { h } from './dom.js';

function check(ok, good, bad) {
  return h('li', { class: ok ? 'check-ok' : 'check-bad' }, ok ? good : bad);
}

const secure = window.isSecureContext !== false;
const items = [
  check('RTCPeerConnection' in window, 'Video calling (WebRTC) is supported.',
    'This browser cannot make video calls. Please use a current version of Chrome, Edge, Firefox or Safari.'),
  check(!!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
    'This page may ask to use the camera and microphone.',
    secure
      ? 'This browser cannot use a camera and microphone.'
      : 'This page was not opened over a secure (https) connection, so the camera and microphone cannot be used.'),
  check('WebSocket' in window, 'Live connections (WebSocket) are supported.',
    'This browser cannot keep a live connection to the service.'),
  check(navigator.onLine !== false, 'This device is online.', 'This device seems to be offline.'),
];
document.getElementById('checks').replaceChildren(...items);
