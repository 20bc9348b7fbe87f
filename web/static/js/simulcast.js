// Simulcast publishing (signalling/PROTOCOL.md, Simulcast): the camera goes
// out as up to three encodings of one track, and the media server forwards
// each viewer the one that fits their network and their tile.
//
//   rid  scale  bit rate     at the 1280x720 camera the page asks for
//   q    1/4    150 kbit/s   320x180
//   h    1/2    500 kbit/s   640x360
//   f    1      1.7 Mbit/s   1280x720
//
// How many layers depends on the camera's size, as the browsers' encoders
// allow (libwebrtc, in Chrome and Safari, refuses a third layer below about
// 960x540 and a second below about 480x270, whatever the page asks: a 640x480
// camera asked for three sends only two, measured with Chromium):
//
//   at least 960x540 px   q (1/4), h (1/2), f (1)
//   at least 480x270 px   q (1/2) and h (1): a 640x480 camera gives 320x240
//                         and 640x480, the sizes of a 720p camera's q and h
//   smaller               one encoding, no simulcast (the server forwards it
//                         to everyone as it is)
//
// The test is on the pixel count, so a phone held upright (720x1280) counts
// as the 720p camera it is. The number of encodings is fixed when the
// transceiver is made; a camera switched later keeps it (the browser scales
// the new camera's frames by the same factors and may drop a layer).

export const LAYERS = [
  { rid: 'q', maxBitrate: 150000 },
  { rid: 'h', maxBitrate: 500000 },
  { rid: 'f', maxBitrate: 1700000 },
];

// THREE_LAYERS_MIN and TWO_LAYERS_MIN are the camera sizes (pixels per
// frame) from which it is published as three and as two layers.
export const THREE_LAYERS_MIN = 960 * 540;
export const TWO_LAYERS_MIN = 480 * 270;

// SINGLE_MAX_BITRATE caps the one encoding of a small camera.
const SINGLE_MAX_BITRATE = 300000;

// sendEncodingsFor returns RTCRtpTransceiverInit.sendEncodings for a camera
// of the given size (px; 0 or missing when unknown: assume the 1280x720 the
// page asks for).
export function sendEncodingsFor(width, height) {
  const w = Number(width) || 0;
  const h = Number(height) || 0;
  const pixels = w > 0 && h > 0 ? w * h : 1280 * 720;
  if (pixels >= THREE_LAYERS_MIN) {
    return LAYERS.map((l, i) => ({ rid: l.rid, active: true, maxBitrate: l.maxBitrate, scaleResolutionDownBy: 2 ** (2 - i) }));
  }
  if (pixels >= TWO_LAYERS_MIN) {
    return LAYERS.slice(0, 2).map((l, i) => ({ rid: l.rid, active: true, maxBitrate: l.maxBitrate, scaleResolutionDownBy: 2 ** (1 - i) }));
  }
  return [{ active: true, maxBitrate: SINGLE_MAX_BITRATE }];
}

// sendEncodingsForTrack reads the size from a camera track's settings.
export function sendEncodingsForTrack(track) {
  const s = track && track.getSettings ? track.getSettings() : {};
  return sendEncodingsFor(s.width, s.height);
}

// PREFERRED_VIDEO is the codec offered first: VP8 simulcast is what every
// browser and the media server handle best (H.264 simulcast depends on the
// platform's encoder; VP9 and AV1 are heavier on old devices).
const PREFERRED_VIDEO = 'video/vp8';

// preferCodec reorders a transceiver's codecs so that VP8 comes first,
// keeping every other codec (and RTX, RED, FEC) after it. It does nothing
// where setCodecPreferences or VP8 is missing.
export function preferCodec(transceiver, mimeType = PREFERRED_VIDEO) {
  if (!transceiver || typeof transceiver.setCodecPreferences !== 'function') return false;
  const caps = (window.RTCRtpSender && RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities('video')) || null;
  if (!caps || !Array.isArray(caps.codecs)) return false;
  const wanted = mimeType.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (first.length === 0) return false;
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  try {
    transceiver.setCodecPreferences([...first, ...rest]);
    return true;
  } catch (err) {
    console.warn('gatehouse: codec preference not applied', err);
    return false;
  }
}

// applyActive sets encodings[i].active from the rids the media server says
// anyone watches (a `layers` message); a layer nobody watches is paused at
// the encoder. Encodings without a rid (no simulcast) are left alone. It
// resolves to whether anything changed.
export async function applyActive(sender, activeRids) {
  if (!sender) return false;
  const params = sender.getParameters();
  const encs = params.encodings || [];
  if (!encs.some((e) => e.rid)) return false;
  const want = new Set(activeRids);
  let changed = false;
  for (const e of encs) {
    if (!e.rid) continue;
    const on = want.has(e.rid);
    if (e.active !== on) {
      e.active = on;
      changed = true;
    }
  }
  if (changed) await sender.setParameters(params);
  return changed;
}
