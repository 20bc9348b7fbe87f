package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

// publishing is window.gatehouse.publishing() of the join page.
type publishing struct {
	Encodings []struct {
		RID    string `json:"rid"`
		Active bool   `json:"active"`
		Scale  int    `json:"scaleResolutionDownBy"`
	} `json:"encodings"`
	ServerActive             []string `json:"serverActive"`
	AvailableOutgoingBitrate float64  `json:"availableOutgoingBitrate"`
	Codec                    string   `json:"codec"`
	Outbound                 []struct {
		RID           string `json:"rid"`
		BytesSent     int64  `json:"bytesSent"`
		FramesEncoded int    `json:"framesEncoded"`
		FrameWidth    int    `json:"frameWidth"`
		FrameHeight   int    `json:"frameHeight"`
		Limitation    string `json:"qualityLimitationReason"`
	} `json:"outbound"`
}

// active lists the rids of the encodings switched on.
func (p publishing) active() []string {
	var out []string
	for _, e := range p.Encodings {
		if e.Active {
			out = append(out, e.RID)
		}
	}
	return out
}

// sent maps each rid to its bytes sent so far.
func (p publishing) sent() map[string]int64 {
	out := make(map[string]int64)
	for _, o := range p.Outbound {
		out[o.RID] = o.BytesSent
	}
	return out
}

// receivedLayer is one entry of window.gatehouse.receivedLayers().
type receivedLayer struct {
	Layer         string `json:"layer"`
	FrameWidth    int    `json:"frameWidth"`
	FrameHeight   int    `json:"frameHeight"`
	FramesDecoded int    `json:"framesDecoded"`
}

// transportInfo is one connection of window.gatehouse.transports().
type transportInfo struct {
	SRTPCipher string `json:"srtpCipher"`
	DTLSCipher string `json:"dtlsCipher"`
	TLSVersion string `json:"tlsVersion"`
	DTLSState  string `json:"dtlsState"`
	DTLSRole   string `json:"dtlsRole"`
}

// TestBrowserPublishesSimulcast holds a visit between two Chromium pages
// and checks the camera goes out as three simulcast encodings (q, h, f)
// in VP8, each sending; that the media server forwards each of them on
// request (the viewer's quality hook, read back from the server's stats
// message and the decoded frame size); that dynacast pauses the encodings
// nobody watches at the publisher's encoder and resumes them; and that
// both connections use the AES-GCM SRTP profile the server prefers.
func TestBrowserPublishesSimulcast(t *testing.T) {
	exe := chromium(t)
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	tabs := openCall(t, exe, b)
	waitFramesFrom(t, b, tabs, nil, 45*time.Second)
	pub, viewer := tabs[0], tabs[1]
	pubID := b.Participants[0].ID

	// (a) Three encodings of the 720p camera, VP8, each of which sends
	// frames of its own size. The viewer asks for the middle layer, then
	// the full one, so that dynacast keeps each on while the browsers'
	// bandwidth estimates climb to it (the publisher enables f once its
	// uplink estimate covers all three; the server forwards it once the
	// viewer's estimate does). The layers nobody then receives (the
	// recording follows the viewer) are soon paused: each must have been
	// seen sending, with its own frame size, not necessarily all at once.
	began := time.Now()
	var p0 publishing
	widths := make(map[string]int) // each encoding's frame width while it was seen sending
	for _, asked := range []string{"h", "f"} {
		evalIn[bool](t, viewer, `(window.gatehouse.setQuality(`+jsString(pubID)+`, `+jsString(asked)+`), true)`)
		for {
			p0 = evalIn[publishing](t, pub, `window.gatehouse.publishing()`)
			for _, o := range p0.Outbound {
				if o.FramesEncoded > 0 && o.BytesSent > 0 && o.FrameWidth > 0 {
					if _, seen := widths[o.RID]; !seen {
						t.Logf("publisher encoding %s sending after %v: %dx%d, %d frames, %d bytes, limited by %q", o.RID,
							time.Since(began).Round(100*time.Millisecond), o.FrameWidth, o.FrameHeight, o.FramesEncoded, o.BytesSent, o.Limitation)
					}
					widths[o.RID] = o.FrameWidth
				}
			}
			if _, ok := widths[asked]; ok {
				break
			}
			if time.Since(began) > 45*time.Second {
				st := evalIn[any](t, viewer, `window.gatehouse.mediaStats()`)
				t.Fatalf("encoding %s has not sent frames (seen %v): %+v; publisher's uplink estimate %.0f bit/s; viewer's stats %v", asked, widths, p0.Outbound, p0.AvailableOutgoingBitrate, st)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if len(widths) != 3 {
		t.Fatalf("encodings seen sending: %v, want q, h and f", widths)
	}
	t.Logf("all three encodings seen sending after %v (publisher's uplink estimate %.0f kbit/s)", time.Since(began).Round(100*time.Millisecond), p0.AvailableOutgoingBitrate/1000)
	if got := len(p0.Encodings); got != 3 {
		t.Fatalf("publisher has %d encodings (%+v), want 3", got, p0.Encodings)
	}
	for i, want := range []struct {
		rid   string
		scale int
	}{{"q", 4}, {"h", 2}, {"f", 1}} {
		if e := p0.Encodings[i]; e.RID != want.rid || e.Scale != want.scale {
			t.Errorf("encoding %d: rid %q scale %d, want %q scale %d", i, e.RID, e.Scale, want.rid, want.scale)
		}
	}
	if !strings.EqualFold(p0.Codec, "video/VP8") {
		t.Errorf("video codec %q, want VP8", p0.Codec)
	}
	if !(widths["q"] < widths["h"] && widths["h"] < widths["f"]) {
		t.Errorf("encodings' frame widths %v, want q, h and f, each larger than the last", widths)
	}
	if n := metricValue(t, srv, "gatehouse_sfu_published_tracks"); n != 4 {
		t.Errorf("gatehouse_sfu_published_tracks = %v, want 4 (audio and simulcast video of each)", n)
	}

	// The server forwards each layer on request (a dynacast-paused layer
	// comes back for it), as the server's stats message and the decoded
	// frame size say (the size the publisher encodes that layer at now: a
	// busy machine makes the browser scale its layers down).
	for _, want := range []string{"q", "h", "f"} {
		evalIn[bool](t, viewer, `(window.gatehouse.setQuality(`+jsString(pubID)+`, `+jsString(want)+`), true)`)
		began := time.Now()
		var got receivedLayer
		var width int
		var resized time.Duration // until the decoded size changed
		deadline := began.Add(30 * time.Second)
		for {
			got = evalIn[map[string]receivedLayer](t, viewer, `window.gatehouse.receivedLayers()`)[pubID]
			width = 0
			for _, o := range evalIn[publishing](t, pub, `window.gatehouse.publishing()`).Outbound {
				if o.RID == want {
					width = o.FrameWidth
				}
			}
			if width > 0 && got.FrameWidth == width && resized == 0 {
				resized = time.Since(began)
			}
			if got.Layer == want && width > 0 && got.FrameWidth == width {
				break
			}
			if time.Now().After(deadline) {
				st := evalIn[any](t, viewer, `window.gatehouse.mediaStats()`)
				t.Fatalf("viewer receives %+v, want layer %s at %d px wide (server stats %v)", got, want, width, st)
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Logf("quality %q: the viewer decodes %dx%d after %v; the server's stats (every 5 s) say layer %s after %v", want,
			got.FrameWidth, got.FrameHeight, resized.Round(100*time.Millisecond), got.Layer, time.Since(began).Round(100*time.Millisecond))
	}

	// (b) Dynacast: the only viewer wants the quarter layer, so the
	// publisher pauses h and f at the encoder (the social call's recording
	// follows what the viewer is given, and asks for nothing more), and
	// resumes them when the viewer wants more again.
	evalIn[bool](t, viewer, `(window.gatehouse.setQuality(`+jsString(pubID)+`, 'q'), true)`)
	began = time.Now()
	pollIn(t, pub, 10*time.Second, `window.gatehouse.publishing().then((p) => p.encodings.map((e) => e.rid + ':' + e.active).join(',') === 'q:true,h:false,f:false')`,
		"the publisher pauses h and f")
	paused := evalIn[publishing](t, pub, `window.gatehouse.publishing()`)
	t.Logf("h and f paused %v after the quality request; server asked for %v", time.Since(began).Round(100*time.Millisecond), paused.ServerActive)
	if strings.Join(paused.ServerActive, ",") != "q" {
		t.Errorf("last layers message %v, want [q]", paused.ServerActive)
	}
	time.Sleep(2 * time.Second)
	later := evalIn[publishing](t, pub, `window.gatehouse.publishing()`)
	for rid, n := range later.sent() {
		if grew := n - paused.sent()[rid]; rid != "q" && grew > 2000 {
			t.Errorf("paused encoding %s still sent %d bytes in 2 s", rid, grew)
		} else if rid == "q" && grew <= 0 {
			t.Errorf("encoding %s stopped sending while watched and recorded", rid)
		}
	}
	base := evalIn[pageStats](t, viewer, `window.gatehouse.stats()`)
	evalIn[bool](t, viewer, `(window.gatehouse.setQuality(`+jsString(pubID)+`, null), true)`)
	// Back to the tile's own choice: the server asks for more than q as soon
	// as the viewer's bandwidth estimate allows, and the publisher follows
	// whatever it asks.
	const follows = `window.gatehouse.publishing().then((p) => p.serverActive && p.serverActive.length > 1 &&
		p.encodings.filter((e) => e.active).map((e) => e.rid).join() === p.serverActive.join())`
	for deadline := time.Now().Add(20 * time.Second); !evalIn[bool](t, pub, follows); {
		if time.Now().After(deadline) {
			t.Fatalf("the publisher resumes no higher layer: viewer asked %v, receives %v; publisher %+v",
				evalIn[any](t, viewer, `window.gatehouse.qualityRequests()`), evalIn[any](t, viewer, `window.gatehouse.mediaStats()`),
				evalIn[publishing](t, pub, `window.gatehouse.publishing()`))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the viewer asks for %v by its tile; the publisher sends %v", evalIn[any](t, viewer, `window.gatehouse.qualityRequests()`),
		evalIn[publishing](t, pub, `window.gatehouse.publishing()`).active())
	waitFramesFrom(t, b, tabs[1:], []pageStats{base}, 20*time.Second)

	// The connection indicator shows the server's stats (every 5 s) in words,
	// with the figures for hover and focus.
	pollIn(t, viewer, 12*time.Second, `(() => {
		const s = window.gatehouse.mediaStats(), el = document.getElementById('call-quality');
		return !!s && s.publish.bitrate > 0 && !el.hidden && /^(Good|Fair|Poor) connection$/.test(el.textContent) &&
			el.dataset.level === window.gatehouse.connectionQuality().level &&
			document.getElementById('call-quality-details').textContent.includes('Sending:');
	})()`, "the viewer shows its connection")
	t.Logf("the viewer's connection: %q (%s); server stats %v",
		evalIn[string](t, viewer, `document.getElementById('call-quality').textContent`),
		evalIn[string](t, viewer, `document.getElementById('call-quality-details').innerText.replaceAll('\n', ' ')`),
		evalIn[any](t, viewer, `window.gatehouse.mediaStats()`))

	// SRTP: AES-GCM, as the media server prefers, wherever the server
	// chooses: the DTLS server picks the profile from those the client
	// offers, and Chromium, offering AES-CM first, is the DTLS client where
	// the server is the DTLS server.
	checked := 0
	for i, tab := range tabs {
		tr := evalIn[map[string]*transportInfo](t, tab, `window.gatehouse.transports()`)
		for _, conn := range []string{"pub", "sub"} {
			info := tr[conn]
			if info == nil {
				t.Errorf("%s: no %s transport stats", b.Participants[i].Name, conn)
				continue
			}
			if i == 0 {
				t.Logf("%s connection: SRTP %s, DTLS %s %s, Chromium is the DTLS %s", conn, info.SRTPCipher, info.TLSVersion, info.DTLSCipher, info.DTLSRole)
			}
			gcm := info.SRTPCipher == "AEAD_AES_128_GCM" || info.SRTPCipher == "SRTP_AEAD_AES_128_GCM"
			switch {
			case info.DTLSRole == "client" || info.DTLSRole == "":
				checked++
				if !gcm {
					t.Errorf("%s: %s SRTP cipher %q, want AEAD_AES_128_GCM", b.Participants[i].Name, conn, info.SRTPCipher)
				}
			case !gcm && i == 0:
				t.Logf("%s connection: Chromium is the DTLS server and chose %s; the media server gets AES-GCM here only by taking the DTLS server role when it answers", conn, info.SRTPCipher)
			}
		}
	}
	if checked == 0 {
		t.Error("no connection where the media server chose the SRTP profile")
	}
}

// jsQuote quotes any string as a JavaScript string literal.
func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// speaker is one entry of window.gatehouse.speakers().
type speaker struct {
	ParticipantID string  `json:"participantId"`
	Level         float64 `json:"level"`
}

// levels is another participant's sound as a page receives it, measured
// the way RFC 6464 levels are (the RMS of each ~21 ms of audio in dBov, 0
// to -127, relative to full-scale square) with Web Audio on their <audio>
// element's stream, every 20 ms or so: the mean power; Loudness, the mean
// of (127 + level) / 127, which is how the media server rates the levels of
// each quarter second (speaking from 0.65, about -45 dBov on average); and
// the share of quarter seconds (12 samples) that reach 0.65.
type levels struct {
	MeanDBov      float64 `json:"meanDBov"`
	Loudness      float64 `json:"loudness"`
	SpeakingShare float64 `json:"speakingShare"`
	Samples       int     `json:"samples"`
}

func (l levels) String() string {
	return fmt.Sprintf("mean %.1f dBov, loudness %.2f, %.0f%% of quarter seconds at 0.65 or more (%d samples)",
		l.MeanDBov, l.Loudness, 100*l.SpeakingShare, l.Samples)
}

// measureHeard returns JavaScript measuring pid's sound in a page for ms.
func measureHeard(pid string, ms int) string {
	return fmt.Sprintf(`(async () => {
  const el = document.querySelector(%s);
  if (!el || !el.srcObject) return { meanDBov: -127, loudness: 0, speakingShare: 0, samples: 0 };
  const ctx = new AudioContext();
  await ctx.resume();
  const an = ctx.createAnalyser();
  an.fftSize = 1024;
  ctx.createMediaStreamSource(el.srcObject).connect(an);
  const buf = new Float32Array(an.fftSize);
  const loud = [];
  let power = 0;
  const end = Date.now() + %d;
  while (Date.now() < end) {
    await new Promise((res) => setTimeout(res, 20));
    an.getFloatTimeDomainData(buf);
    let ms = 0;
    for (const x of buf) ms += x * x;
    ms /= buf.length;
    power += ms;
    const dbov = ms > 0 ? Math.max(-127, 10 * Math.log10(ms)) : -127;
    loud.push((127 + dbov) / 127);
  }
  ctx.close();
  let windows = 0, speaking = 0;
  for (let i = 0; i + 12 <= loud.length; i += 12) {
    windows++;
    if (loud.slice(i, i + 12).reduce((a, b) => a + b, 0) / 12 >= 0.65) speaking++;
  }
  const n = loud.length;
  return { meanDBov: n && power > 0 ? 10 * Math.log10(power / n) : -127, loudness: n ? loud.reduce((a, b) => a + b, 0) / n : 0,
    speakingShare: windows ? speaking / windows : 0, samples: n };
})()`, jsQuote(`.tile[data-participant="`+pid+`"] audio`), ms)
}

// writeSpeech writes a WAV file of a voice-like sound for Chromium's fake
// microphone (--use-file-for-fake-audio-capture): a buzz of harmonics whose
// pitch glides between 110 and 220 Hz and whose loudness rises and falls
// four times a second (down to an eighth of its peak, never silent), as a
// person talking steadily into the microphone. Noise suppression keeps it
// (it varies, unlike a steady tone).
func writeSpeech(t *testing.T, seconds int) string {
	t.Helper()
	const rate = 48000
	n := rate * seconds
	data := make([]byte, 44+2*n)
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], rate*2)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	phase := 0.0
	for i := range n {
		ts := float64(i) / rate
		pitch := 165 + 55*math.Sin(2*math.Pi*0.7*ts)
		phase += 2 * math.Pi * pitch / rate
		var v float64
		for h := 1; h <= 8; h++ {
			v += math.Sin(float64(h)*phase) / float64(h)
		}
		env := 0.45 + 0.35*math.Sin(2*math.Pi*4*ts) // 0.1 to 0.8
		sample := int16(math.Max(-1, math.Min(1, v*env/1.6)) * 32000)
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(sample))
	}
	path := filepath.Join(t.TempDir(), "speech.wav")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrowserShowsActiveSpeaker holds a three-way visit: the prisoner's
// browser (joining last) has a fake microphone playing a voice-like sound
// and starts muted, the two visitors' browsers Chromium's own fake
// microphone, a beep. It measures one beep as another page receives it and
// reports whether the media server counts the beeps as speaking; then
// unmutes the talker and requires the others to list them as the active
// speaker, mark their tile, announce them, and show them in the large tile.
//
// Measured on a 2-core machine: the beep arrives at a mean loudness of 0.3
// to 0.5 (mean power about -24 to -30 dBov, but silent between beeps), no
// quarter second reaching the server's 0.65, and the server lists a beeper
// only now and then (0 to 6 lists in about 4 s): too little to assert on,
// hence the voice-like file (loudness about 0.75 to 0.8, -15 dBov; listed
// at 0.7 to 0.86).
func TestBrowserShowsActiveSpeaker(t *testing.T) {
	exe := chromium(t)
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 2)
	srv.Clock.Set(start.Add(time.Second))
	wav := writeSpeech(t, 10)
	talkerIdx := 0 // the prisoner
	talkerID := b.Participants[talkerIdx].ID
	order := []int{1, 2, 0} // the talker joins last
	tabs := make([]context.Context, len(b.Participants))
	for _, i := range order {
		p := b.Participants[i]
		if i == talkerIdx {
			tabs[i] = browserWith(t, exe, map[string]any{"use-file-for-fake-audio-capture": wav})
		} else {
			tabs[i] = browser(t, exe)
		}
		ctx, cancel := context.WithTimeout(tabs[i], 30*time.Second)
		err := chromedp.Do(ctx, chromedp.Navigate(p.JoinURL), chromedp.WaitEnabled(chromedp.ID("join")))
		cancel()
		if err != nil {
			t.Fatalf("%s: open join page: %v", p.Name, err)
		}
		if i == talkerIdx {
			// Muted until the others are settled (the call screen's button).
			pollIn(t, tabs[i], 10*time.Second, `!document.getElementById('mute').disabled`, "the microphone starts")
			evalIn[bool](t, tabs[i], `(document.getElementById('mute').click(), document.getElementById('mute').textContent === 'Unmute')`)
		}
		evalIn[bool](t, tabs[i], `(window.gatehouse.join(), true)`)
	}
	waitFramesFrom(t, b, tabs, nil, 60*time.Second)
	listeners := []int{1, 2}

	// The beep: Chromium's own fake microphone, as another page receives
	// it (after the sender's echo cancelling, noise suppression and gain
	// control: where the RFC 6464 levels the server reads come from).
	beepID := b.Participants[1].ID
	t.Logf("Chromium's fake microphone (beep) as received: %v", evalIn[levels](t, tabs[2], measureHeard(beepID, 3500)))
	heard := evalIn[[]speaker](t, tabs[talkerIdx], `window.gatehouse.speakers()`)
	changes := metricValue(t, srv, "gatehouse_sfu_speaker_changes_total")
	t.Logf("while only the beeps play: %v speaker lists sent, the last %v", changes, heard)

	for _, i := range listeners {
		t.Logf("%s before the talker speaks: %v", b.Participants[i].Name, evalIn[any](t, tabs[i], `window.gatehouse.activeSpeaker()`))
	}

	// The talker speaks.
	evalIn[bool](t, tabs[talkerIdx], `(document.getElementById('mute').click(), true)`)
	t.Logf("the voice-like file as received: %v", evalIn[levels](t, tabs[1], measureHeard(talkerID, 2500)))
	for _, i := range listeners {
		name := b.Participants[i].Name
		pollIn(t, tabs[i], 10*time.Second, `window.gatehouse.speakers().some((s) => s.participantId === `+jsString(talkerID)+`)`,
			name+" lists the talker as speaking")
		sp := evalIn[[]speaker](t, tabs[i], `window.gatehouse.speakers()`)
		t.Logf("%s: speakers %v", name, sp)
		pollIn(t, tabs[i], 5*time.Second, `(() => {
			const el = document.querySelector(`+jsQuote(`.tile[data-participant="`+talkerID+`"]`)+`);
			return !!el && el.classList.contains('speaking') && !el.querySelector('.tile-speaking').hidden;
		})()`, name+" marks the talker's tile")
		pollIn(t, tabs[i], 8*time.Second, `document.getElementById('speaker-status').textContent === `+jsQuote(b.Participants[talkerIdx].Name+" is speaking."), name+" announces the talker")
		pollIn(t, tabs[i], 5*time.Second, `(() => {
			const el = document.querySelector(`+jsQuote(`.tile[data-participant="`+talkerID+`"]`)+`);
			return window.gatehouse.activeSpeaker().featured === `+jsString(talkerID)+` && el.classList.contains('featured') &&
				document.getElementById('tiles').dataset.layout === 'speaker';
		})()`, name+" shows the talker in the large tile")
	}
}
