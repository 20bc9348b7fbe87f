package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// Simulcast qualities, lowest first. A publisher without simulcast has one
// layer, at index 0.
const (
	layerQ     = 0
	layerH     = 1
	layerF     = 2
	maxLayers  = 3
	layerPause = -1
)

// layerRIDs are the rids the web client publishes, by quality.
var layerRIDs = [maxLayers]string{"q", "h", "f"}

// nominalBitrate is what each quality is expected to need before it has
// been measured (or while it is paused at the publisher), in bit/s.
var nominalBitrate = [maxLayers]int{150_000, 500_000, 1_700_000}

// cacheSize is how many packets of each layer are kept for NACKs: about
// three seconds of each.
var cacheSize = [maxLayers]int{128, 256, 512}

// audioCacheSize keeps about 2.5 seconds of 20 ms Opus packets.
const audioCacheSize = 128

// qualityOf maps a rid to a quality index: q/h/f as the web client sends,
// and the 0/1/2 or low/mid/high other clients use.
func qualityOf(rid string) int {
	switch strings.ToLower(rid) {
	case "q", "0", "low", "l":
		return layerQ
	case "h", "1", "mid", "medium", "m":
		return layerH
	case "f", "2", "high", "hi":
		return layerF
	}
	return layerQ
}

// upTrack is one track a participant publishes: audio, or video in one to
// three simulcast layers. Each layer has its own reader goroutine, which
// forwards every packet to the subscribers' downTracks.
type upTrack struct {
	owner     *Participant
	id        string // unique in the room: owner, kind and the client's track id
	trackID   string // the client's own track id (for the layers message)
	kind      webrtc.RTPCodecType
	codec     webrtc.RTPCodecParameters
	ck        codecKind
	simulcast bool
	// offered marks the layers the publisher's description announces;
	// they arrive one by one, in no set order.
	offered [maxLayers]bool

	// Extension ids as the publisher negotiated them; 0 when absent.
	extAudioLevel, extCaptureTime uint8

	layers [maxLayers]atomic.Pointer[upLayer]
	downs  atomic.Pointer[[]*downTrack] // copy on write, under mu
	rec    atomic.Pointer[trackRecorder]

	mu       sync.Mutex
	active   [maxLayers]bool      // layers the publisher was last told to send
	wantedAt [maxLayers]time.Time // when a subscriber last wanted each

	level audioLevel
}

func newUpTrack(owner *Participant, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *upTrack {
	t := &upTrack{
		owner:     owner,
		id:        owner.id + "-" + remote.Kind().String() + "-" + remote.ID(),
		trackID:   remote.ID(),
		kind:      remote.Kind(),
		codec:     remote.Codec(),
		ck:        codecKindOf(remote.Codec().MimeType),
		simulcast: remote.RID() != "",
	}
	if t.simulcast {
		for _, r := range recv.Tracks() {
			if r.RID() != "" {
				t.offered[qualityOf(r.RID())] = true
			}
		}
	}
	t.offered[qualityOf(remote.RID())] = true
	now := time.Now()
	for i := range t.active {
		t.active[i] = true
		t.wantedAt[i] = now
	}
	for _, e := range recv.GetParameters().HeaderExtensions {
		switch e.URI {
		case rtcconf.AudioLevelURI:
			t.extAudioLevel = uint8(e.ID)
		case rtcconf.AbsCaptureTimeURI:
			t.extCaptureTime = uint8(e.ID)
		}
	}
	empty := []*downTrack{}
	t.downs.Store(&empty)
	return t
}

// addLayer starts reading one layer of the track; it returns false when
// that layer is already read.
func (t *upTrack) addLayer(remote *webrtc.TrackRemote) (*upLayer, bool) {
	q := 0
	if t.simulcast {
		q = qualityOf(remote.RID())
	}
	size := audioCacheSize
	if t.kind == webrtc.RTPCodecTypeVideo {
		size = cacheSize[q]
		if !t.simulcast {
			size = cacheSize[layerF]
		}
	}
	l := &upLayer{track: t, q: q, rid: remote.RID(), remote: remote, ssrc: uint32(remote.SSRC()), cache: newPacketCache(size)}
	if !t.layers[q].CompareAndSwap(nil, l) {
		return nil, false
	}
	return l, true
}

// layer returns quality q's layer, or nil.
func (t *upTrack) layer(q int) *upLayer {
	if q < 0 || q >= maxLayers {
		return nil
	}
	return t.layers[q].Load()
}

// addDown and removeDown change the subscriber list the readers iterate.
func (t *upTrack) addDown(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := make([]*downTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, d)
	t.downs.Store(&next)
}

func (t *upTrack) removeDown(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := make([]*downTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	t.downs.Store(&next)
}

// requestKeyframe asks the publisher for a key frame on layer q, at most
// once per pliInterval unless force is set.
func (t *upTrack) requestKeyframe(q int, force bool) {
	if t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	l := t.layer(q)
	if l == nil {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if !force && now-last < int64(pliInterval) {
		return
	}
	if !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	t.owner.room.sfu.media.KeyframeRequests.Inc()
	_ = t.owner.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}})
}

// bitrate returns the measured bit rate of layer q, or its nominal rate
// when it is not (or no longer) flowing.
func (t *upTrack) bitrate(q int) int {
	if l := t.layer(q); l != nil {
		if r := int(l.rate.Load()); r > 0 {
			return r
		}
	}
	if t.kind == webrtc.RTPCodecTypeAudio {
		return 40_000
	}
	return nominalBitrate[q]
}

// qualities lists the layers a subscription may be given, lowest first:
// those the publisher offers, whether or not they have sent yet. A layer
// the publisher has not started (its encoder waits for uplink bandwidth)
// or that dynacast paused is resumed by being chosen; until its first key
// frame arrives the subscriber keeps the layer it has.
func (t *upTrack) qualities() []int {
	var qs []int
	for q := range maxLayers {
		if t.offered[q] || t.layers[q].Load() != nil {
			qs = append(qs, q)
		}
	}
	return qs
}

// sending reports whether layer q has sent and the publisher was last
// asked to keep sending it.
func (t *upTrack) sending(q int) bool {
	return t.layers[q].Load() != nil && t.isActive(q)
}
