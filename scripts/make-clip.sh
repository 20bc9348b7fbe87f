#!/usr/bin/env bash
# Makes the small media clip the loadtest tool publishes (loadtest/media/clip):
#
#   q.ivf, h.ivf, f.ivf  VP8 in IVF, 320x180 (~150 kbit/s), 640x360 (~500 kbit/s)
#                        and 1280x720 (~1.5 Mbit/s), 30 fps, a key frame every
#                        30 frames, the same moving test pattern (testsrc2) at
#                        each size: the three simulcast layers
#   audio.ogg            Opus, 48 kHz mono, 20 ms frames: a tone that alternates
#                        with silence (talking, pausing) at varying loudness
#   audio-levels.txt     one RFC 6464 level per 20 ms Opus frame (dBov, 0 the
#                        loudest, 127 silence), computed from the same signal
#
# Development-time only: the files are committed, so neither CI nor
# `go run` needs ffmpeg. Run it again after changing the parameters below.
# Needs ffmpeg with libvpx and libopus (Debian: apt-get install ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/.."
out=loadtest/media/clip
seconds=${CLIP_SECONDS:-4}
mkdir -p "$out"
command -v ffmpeg >/dev/null || { echo "make-clip.sh: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 1; }

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# vp8 NAME WIDTH HEIGHT KBITS: one simulcast layer, constant bit rate,
# real-time settings as a WebRTC encoder would use (no alt-ref frames, no
# look-ahead, error resilient), one key frame a second.
vp8() {
	local name=$1 w=$2 h=$3 kbits=$4
	ff -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$seconds" \
		-vf "scale=$w:$h:flags=bicubic,format=yuv420p" \
		-c:v libvpx -deadline realtime -cpu-used 8 -threads 1 \
		-b:v "${kbits}k" -minrate "${kbits}k" -maxrate "${kbits}k" -bufsize "$((kbits / 2))k" \
		-g 30 -keyint_min 30 -auto-alt-ref 0 -lag-in-frames 0 -error-resilient 1 \
		-f ivf "$out/$name.ivf"
}
vp8 q 320 180 150
vp8 h 640 360 500
vp8 f 1280 720 1500

# Talking and silence: 440 Hz with a slow vibrato, on for 0.7 s, off for
# 0.5 s, with the loudness of each burst stepping between four levels.
tone="(lt(mod(t,1.2),0.7))*(0.1+0.25*mod(floor(t/1.2),4))*sin(2*PI*(440+30*sin(2*PI*3*t))*t)"
ff -f lavfi -i "aevalsrc=exprs='$tone':sample_rate=48000:channel_layout=mono:duration=$seconds" \
	-c:a libopus -b:a 32k -frame_duration 20 -application voip -vbr on \
	-page_duration 20000 "$out/audio.ogg"

# RMS level of each 960-sample (20 ms) frame in dBFS, as RFC 6464 wants it:
# -dBov rounded, 0..127, silence 127.
ff -f lavfi -i "aevalsrc=exprs='$tone':sample_rate=48000:channel_layout=mono:duration=$seconds" \
	-af "asetnsamples=n=960:p=0,astats=metadata=1:reset=1,ametadata=mode=print:key=lavfi.astats.Overall.RMS_level:file=-" \
	-f null - |
	awk -F= '/RMS_level/ {
		v = $2
		if (v == "-inf" || v + 0 < -127) { print 127; next }
		l = int(-v + 0.5); if (l < 0) l = 0; if (l > 127) l = 127; print l
	}' >"$out/audio-levels.txt"

ls -l "$out"
du -ch "$out"/* | tail -1
